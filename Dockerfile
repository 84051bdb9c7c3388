# kaic: Kubernetes AI Conformance scanner. Entrypoint `kaic`; runs as a non-root user.
#   docker build -t ghcr.io/kaic-dev/kaic:0.1.0 .
#   docker run --rm -v "$PWD:/work" -w /work ghcr.io/kaic-dev/kaic:0.1.0 scan deploy/
# In-cluster: deploy/ (CronJob) and deploy/sonobuoy/ (Sonobuoy plugin).
FROM python:3.11.7-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Pinned dependencies first (a layer that changes only when the pins do), then kaic itself
# without resolving anything else.
COPY deploy/requirements.txt /src/deploy/requirements.txt
RUN python -m venv /opt/kaic \
 && /opt/kaic/bin/pip install --require-virtualenv -r /src/deploy/requirements.txt
COPY pyproject.toml README.md /src/
COPY scanner /src/scanner
COPY policies /src/policies
RUN /opt/kaic/bin/pip install --require-virtualenv --no-deps /src

FROM python:3.11.7-slim-bookworm
LABEL org.opencontainers.image.title="kaic" \
      org.opencontainers.image.description="Kubernetes AI Conformance scanner" \
      org.opencontainers.image.source="https://github.com/kaic-dev/kaic" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/kaic/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY --from=build /opt/kaic /opt/kaic
COPY deploy/sonobuoy/run.sh /opt/kaic/sonobuoy-run.sh
RUN useradd --uid 65532 --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin kaic \
 && chmod 0755 /opt/kaic/sonobuoy-run.sh
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["kaic"]
CMD ["--help"]

# Container image references: parsing, normalisation, digest pinning, and the pattern
# matching of the admission controllers that verify image signatures.
# Library package: no METADATA block.
#
# API:
#   parse(ref)          {"registry", "repository", "tag", "digest"}; registry defaults to
#                       index.docker.io and single-name Docker Hub images get "library/"
#   normalized(ref)     the reference as go-containerregistry names it (what sigstore
#                       policy-controller matches): "index.docker.io/library/busybox:latest",
#                       "ghcr.io/org/app@sha256:..."
#   docker_normalized(ref)  the Docker/Kyverno form: "docker.io/library/busybox:latest"
#   name_of(parsed, docker_hub)  either form from one parse() result (parse once, name twice)
#   has_digest(ref)     pinned by a sha256 digest (`@sha256:` + 64 hex characters)
#   sigstore_glob_matches(glob, ref)   policy.sigstore.dev ClusterImagePolicy images[].glob
#   sigstore_glob_regex(glob)          the same glob as an anchored regular expression
#   wildcard_matches(pattern, ref)     Kyverno imageReferences / matchImageReferences glob
#   wildcard_regex(pattern)            the same pattern as an anchored regular expression
package kaic.lib.images

import rego.v1

default_registry := "index.docker.io"

parse(ref) := {
	"registry": registry,
	"repository": repository,
	"tag": tag,
	"digest": digest,
} if {
	is_string(ref)
	at := split(ref, "@")
	name_part := at[0]
	digest := _digest(at)
	segments := split(name_part, "/")
	n := count(segments)
	last := segments[n - 1]
	tag := _tag(last)
	last_name := _strip_tag(last)
	parts := array.concat(array.slice(segments, 0, n - 1), [last_name])
	registry := _registry(parts)
	repository := _repository(parts, registry)
}

_digest(at) := at[1] if count(at) > 1 else := ""

_tag(last) := parts[count(parts) - 1] if {
	parts := split(last, ":")
	count(parts) > 1
} else := ""

_strip_tag(last) := concat(":", array.slice(parts, 0, count(parts) - 1)) if {
	parts := split(last, ":")
	count(parts) > 1
} else := last

# The first path component is a registry when it looks like a host (Docker's rule:
# contains "." or ":" or is "localhost"); docker.io is an alias of index.docker.io.
_registry(parts) := _canonical_registry(parts[0]) if {
	count(parts) > 1
	_looks_like_host(parts[0])
} else := default_registry

_looks_like_host(s) if contains(s, ".")

_looks_like_host(s) if contains(s, ":")

_looks_like_host(s) if s == "localhost"

_canonical_registry(host) := default_registry if host == "docker.io" else := host

_repository(parts, registry) := concat("/", array.slice(parts, 1, count(parts))) if {
	count(parts) > 1
	_looks_like_host(parts[0])
} else := concat("/", ["library", parts[0]]) if {
	registry == default_registry
	count(parts) == 1
} else := concat("/", parts)

normalized(ref) := name_of(parse(ref), default_registry)

docker_normalized(ref) := name_of(parse(ref), "docker.io")

# name_of(parsed, docker_hub): the full name of a parse() result, spelling Docker Hub as
# docker_hub ("index.docker.io" for go-containerregistry, "docker.io" for Docker/Kyverno).
name_of(parsed, docker_hub) := sprintf("%s/%s%s", [_hub(parsed.registry, docker_hub), parsed.repository, _suffix(parsed)])

_hub(registry, docker_hub) := docker_hub if registry == default_registry else := registry

# The tag is dropped for digest references, as go-containerregistry does; a reference
# with neither is ":latest".
_suffix(p) := sprintf("@%s", [p.digest]) if {
	p.digest != ""
} else := sprintf(":%s", [p.tag]) if {
	p.tag != ""
} else := ":latest"

has_digest(ref) if {
	is_string(ref)
	regex.match(`@sha256:[a-f0-9]{64}$`, ref)
}

# policy-controller semantics (pkg/apis/config GlobMatch): the glob is matched against
# the normalised reference; "*" matches within one path segment, "**" across segments;
# the bare globs "*" and "*/*" mean Docker Hub. Globs with other characters never match.
sigstore_glob_matches(glob, ref) if regex.match(sigstore_glob_regex(glob), normalized(ref))

# sigstore_glob_regex(glob): the anchored regular expression for a glob (undefined for an
# invalid glob). Callers that match many images compile the pattern once with this.
sigstore_glob_regex(glob) := sprintf("^%s$", [with_single]) if {
	is_string(glob)
	regex.match(`^[a-zA-Z0-9_:/*.\-]+$`, glob)
	escaped := replace(_sigstore_glob_alias(glob), ".", `\.`)
	with_double := replace(escaped, "**", "\u0000")
	with_single := replace(replace(with_double, "*", "[^/]+"), "\u0000", ".+")
}

_sigstore_glob_alias(glob) := "index.docker.io/library/*" if {
	glob == "*"
} else := "index.docker.io/*/*" if {
	glob == "*/*"
} else := glob

# Kyverno semantics (wildcard.Match): "*" matches any sequence including "/", "?" one
# character. Kyverno matches the normalised reference (docker_normalized); the reference
# as written is tried too, since older Kyverno versions matched that.
wildcard_matches(pattern, ref) if {
	is_string(ref)
	rx := wildcard_regex(pattern)
	some candidate in {ref, docker_normalized(ref)}
	regex.match(rx, candidate)
}

# wildcard_regex(pattern): the anchored regular expression for a Kyverno pattern.
wildcard_regex(pattern) := sprintf("^%s$", [replace(replace(replace(pattern, ".", `\.`), "*", ".*"), "?", ".")]) if {
	is_string(pattern)
	regex.match(`^[a-zA-Z0-9_:/*?.@\-]+$`, pattern)
}

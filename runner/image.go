package runner

import (
	"regexp"
	"strings"
)

// The distribution reference grammar: [domain[:port]/]path[:tag][@digest].
var (
	imageDomain = regexp.MustCompile(`^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$`)
	imageRemote = func() *regexp.Regexp {
		const (
			component = `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
			tag       = `[\w][\w.-]{0,127}`
			digest    = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
		)
		return regexp.MustCompile(`^` + component + `(?:/` + component + `)*(?::` + tag + `)?(?:@` + digest + `)?$`)
	}()
)

// ValidateImage checks that ref is a well-formed image reference.
func ValidateImage(ref string) error {
	switch {
	case ref == "":
		return invalid("image", "is required")
	case len(ref) > 255:
		return invalid("image", "must be at most 255 characters")
	case !validImageRef(ref):
		return invalid("image", "%q is not a valid image reference (like \"localhost/podrun/busybox:latest\")", ref)
	}
	return nil
}

// validImageRef applies the rule that the first component names a registry
// only when it has a dot or a port, or is "localhost".
func validImageRef(ref string) bool {
	remote := ref
	if first, rest, ok := strings.Cut(ref, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		if !imageDomain.MatchString(first) {
			return false
		}
		remote = rest
	}
	return imageRemote.MatchString(remote)
}

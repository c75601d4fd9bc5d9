package runner

import (
	"regexp"
	"strings"
)

// imageRef follows the distribution reference grammar: [domain[:port]/]path[:tag][@digest].
var imageRef = func() *regexp.Regexp {
	const (
		alnum     = `[a-z0-9]+`
		separator = `(?:[._]|__|[-]+)`
		component = alnum + `(?:` + separator + alnum + `)*`
		domainPt  = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
		domain    = domainPt + `(?:\.` + domainPt + `)*(?::[0-9]+)?`
		tag       = `[\w][\w.-]{0,127}`
		digest    = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}`
	)
	return regexp.MustCompile(`^(?:` + domain + `/)?` + component + `(?:/` + component + `)*(?::` + tag + `)?(?:@` + digest + `)?$`)
}()

// ValidateImage checks that ref is a well-formed image reference.
func ValidateImage(ref string) error {
	switch {
	case ref == "":
		return invalid("image", "is required")
	case len(ref) > 255:
		return invalid("image", "must be at most 255 characters")
	case strings.TrimSpace(ref) != ref || !imageRef.MatchString(ref):
		return invalid("image", "%q is not a valid image reference (like \"localhost/podrun/busybox:latest\")", ref)
	}
	return nil
}

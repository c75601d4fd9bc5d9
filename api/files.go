package api

// Query parameters and values of the /v1/agents/{id}/files routes.
const (
	QueryPath = "path" // an absolute path inside the agent's container; required
	QueryMode = "mode" // PUT: the file's octal permission bits, like 0755; 0644 when left out
	FormatTar = "tar"  // GET with format=tar: a tar of the file or directory
)

// ContentTypeTar is the Content-Type of a tar, sent with POST .../files and answered to GET .../files?format=tar.
const ContentTypeTar = "application/x-tar"

// HeaderFileMode carries a downloaded file's permission bits, in octal like "0644".
const HeaderFileMode = "X-Podrun-File-Mode"

// File types (FileEntry.Type).
const (
	FileTypeFile    = "file"
	FileTypeDir     = "dir"
	FileTypeSymlink = "symlink"
	FileTypeOther   = "other" // a device, a fifo or a socket
)

// FileEntry describes one file in an agent's container: the answer of PUT and POST
// /v1/agents/{id}/files, and each entry of a directory's listing.
type FileEntry struct {
	// Name is the file's last path element.
	Name string `json:"name"`
	// Type is one of the FileType constants.
	Type string `json:"type"`
	// Size is in bytes; 0 for a directory.
	Size int64 `json:"size"`
	// Mode is the permission bits in octal, like "0644".
	Mode string `json:"mode"`
	// MTime is when the file was last modified.
	MTime Time `json:"mtime"`
	// Target is a symlink's target as written; optional, absent for other types.
	Target string `json:"target,omitempty"`
}

// FileList is the answer of GET /v1/agents/{id}/files for a directory.
type FileList struct {
	// Path is the directory, cleaned.
	Path string `json:"path"`
	// Entries are its files by name, symlinks not followed; [] for an empty directory.
	Entries []FileEntry `json:"entries"`
}

package httpapi

import (
	"bytes"
	"context"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/podrun/podrun/runner"
)

// fakeFiles holds the files written through the fake, by agent and path.
type fakeFiles struct {
	data map[string][]byte // agent id + path
}

// fakeMaxUpload is the fake's files.max_upload.
const fakeMaxUpload = 1 << 10

func (f *fakeService) WriteFile(ctx context.Context, id string, req runner.FileWriteRequest) (runner.FileEntry, error) {
	if err := f.enter("WriteFile"); err != nil {
		return runner.FileEntry{}, err
	}
	p, err := runner.ValidateFilePath(req.Path)
	if err != nil {
		return runner.FileEntry{}, err
	}
	if _, err := f.get(id); err != nil {
		return runner.FileEntry{}, err
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, fakeMaxUpload+1))
	if err != nil {
		return runner.FileEntry{}, err
	}
	if len(b) > fakeMaxUpload {
		return runner.FileEntry{}, runner.ErrTooLarge
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.files.data == nil {
		f.files.data = map[string][]byte{}
	}
	f.files.data[id+p] = b
	return runner.FileEntry{Name: path.Base(p), Type: runner.FileTypeFile, Size: int64(len(b)), Mode: 0o644, ModTime: time.Unix(0, 0)}, nil
}

func (f *fakeService) ReadFile(ctx context.Context, id, filePath string, archive bool) (runner.FileRead, error) {
	if err := f.enter("ReadFile"); err != nil {
		return runner.FileRead{}, err
	}
	p, err := runner.ValidateFilePath(filePath)
	if err != nil {
		return runner.FileRead{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if b, ok := f.files.data[id+p]; ok {
		e := runner.FileEntry{Name: path.Base(p), Type: runner.FileTypeFile, Size: int64(len(b)), Mode: 0o644, ModTime: time.Unix(0, 0)}
		return runner.FileRead{Entry: e, Body: io.NopCloser(bytes.NewReader(b))}, nil
	}
	var list []runner.FileEntry
	for k, b := range f.files.data {
		if dir, name := path.Split(strings.TrimPrefix(k, id)); strings.HasPrefix(k, id) && path.Clean(dir) == p {
			list = append(list, runner.FileEntry{Name: name, Type: runner.FileTypeFile, Size: int64(len(b)), Mode: 0o644, ModTime: time.Unix(0, 0)})
		}
	}
	if list == nil {
		return runner.FileRead{}, runner.ErrNotFound
	}
	slices.SortFunc(list, func(a, b runner.FileEntry) int { return strings.Compare(a.Name, b.Name) })
	return runner.FileRead{Entry: runner.FileEntry{Name: path.Base(p), Type: runner.FileTypeDir}, Entries: list}, nil
}

func (f *fakeService) RemoveFile(ctx context.Context, id, filePath string) (runner.FileEntry, error) {
	if err := f.enter("RemoveFile"); err != nil {
		return runner.FileEntry{}, err
	}
	p, err := runner.ValidateFilePath(filePath)
	if err != nil {
		return runner.FileEntry{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.files.data[id+p]; !ok {
		return runner.FileEntry{}, runner.ErrNotFound
	}
	delete(f.files.data, id+p)
	return runner.FileEntry{Name: path.Base(p)}, nil
}

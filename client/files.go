package client

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/podrun/podrun/api"
)

func fileQuery(path string) url.Values { return url.Values{api.QueryPath: {path}} }

// PutFile uploads body as the file at path in a running agent (PUT /v1/agents/{id}/files),
// creating its parents. size is the body's length, or -1 when unknown; mode is octal permission
// bits like "0755", "" for 0644. The file appears under path only once whole.
func (c *Client) PutFile(ctx context.Context, id, path string, body io.Reader, size int64, mode string) (api.FileEntry, error) {
	q := fileQuery(path)
	if mode != "" {
		q.Set(api.QueryMode, mode)
	}
	return c.upload(ctx, http.MethodPut, id, q, body, size, api.ContentTypeOutput)
}

// PutArchive unpacks the tar on body below the directory dir (created) in a running agent
// (POST /v1/agents/{id}/files); size is the body's length, or -1.
func (c *Client) PutArchive(ctx context.Context, id, dir string, body io.Reader, size int64) (api.FileEntry, error) {
	return c.upload(ctx, http.MethodPost, id, fileQuery(dir), body, size, api.ContentTypeTar)
}

func (c *Client) upload(ctx context.Context, method, id string, q url.Values, body io.Reader, size int64, ct string) (api.FileEntry, error) {
	var e api.FileEntry
	req, err := c.newRequest(ctx, method, agentPath(id, "files"), q, body)
	if err != nil {
		return e, err
	}
	req.Header.Set("Content-Type", ct)
	if size >= 0 {
		req.ContentLength = size
	}
	resp, err := c.send(req)
	if err != nil {
		return e, err
	}
	defer resp.Body.Close()
	if err := decodeJSON(resp, &e); err != nil {
		return e, fmt.Errorf("%s files: %w", method, err)
	}
	return e, nil
}

// FileDownload is the answer of GET /v1/agents/{id}/files: a file's bytes in Body (Size of them,
// the caller closes it), or a directory's listing in List (Body nil).
type FileDownload struct {
	Body io.ReadCloser
	Size int64
	// Mode is the file's permission bits in octal, like "0644".
	Mode string
	List *api.FileList
}

// GetFile downloads the file at path, or lists the directory there (GET /v1/agents/{id}/files).
func (c *Client) GetFile(ctx context.Context, id, path string) (FileDownload, error) {
	req, err := c.newRequest(ctx, http.MethodGet, agentPath(id, "files"), fileQuery(path), nil)
	if err != nil {
		return FileDownload{}, err
	}
	resp, err := c.send(req)
	if err != nil {
		return FileDownload{}, err
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == api.ContentTypeJSON {
		defer resp.Body.Close()
		var l api.FileList
		if err := decodeJSON(resp, &l); err != nil {
			return FileDownload{}, fmt.Errorf("GET files: %w", err)
		}
		return FileDownload{List: &l}, nil
	}
	size, err := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
	if err != nil {
		size = resp.ContentLength
	}
	return FileDownload{Body: resp.Body, Size: size, Mode: resp.Header.Get(api.HeaderFileMode)}, nil
}

// GetArchive streams a tar of the file or directory at path (GET /v1/agents/{id}/files?format=tar);
// the caller closes it. A tar the server could not finish ends in a read error, not EOF.
func (c *Client) GetArchive(ctx context.Context, id, path string) (io.ReadCloser, error) {
	q := fileQuery(path)
	q.Set(api.QueryFormat, api.FormatTar)
	req, err := c.newRequest(ctx, http.MethodGet, agentPath(id, "files"), q, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(req)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// DeleteFile removes the file at path, or the directory with all below it (DELETE /v1/agents/{id}/files).
func (c *Client) DeleteFile(ctx context.Context, id, path string) error {
	_, err := c.call(ctx, http.MethodDelete, agentPath(id, "files"), fileQuery(path), nil, nil)
	return err
}

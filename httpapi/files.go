package httpapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/podrun/podrun/api"
	"github.com/podrun/podrun/runner"
)

// fileTransferTimeout bounds the reading of an upload and the writing of a
// download, in place of the server's read and write timeouts, which are
// sized for JSON bodies.
const fileTransferTimeout = 30 * time.Minute

// putFile writes the raw body to ?path= (parents created, mode from ?mode=).
func (s *Server) putFile(w http.ResponseWriter, r *http.Request) {
	s.writeFile(w, r, false)
}

// postFiles unpacks the tar body below ?path=.
func (s *Server) postFiles(w http.ResponseWriter, r *http.Request) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != api.ContentTypeTar {
		writeError(w, r, apiErr(http.StatusUnsupportedMediaType, api.CodeUnsupportedMediaType, "POST .../files takes a tar: Content-Type must be "+api.ContentTypeTar))
		return
	}
	s.writeFile(w, r, true)
}

func (s *Server) writeFile(w http.ResponseWriter, r *http.Request, archive bool) {
	id, ok := agentID(w, r)
	if !ok {
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(fileTransferTimeout))
	q := r.URL.Query()
	if archive && q.Has(api.QueryMode) {
		writeError(w, r, &runner.FieldError{Field: api.QueryMode, Message: "applies to PUT of one file; a tar carries its own modes"})
		return
	}
	e, err := s.svc.WriteFile(r.Context(), id, runner.FileWriteRequest{
		Path: q.Get(api.QueryPath), Mode: q.Get(api.QueryMode), Archive: archive, Body: r.Body, Size: r.ContentLength,
	})
	if err != nil {
		if errors.Is(err, runner.ErrTooLarge) {
			// The rest of the body is not worth reading: close after answering.
			w.Header().Set("Connection", "close")
		}
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, fileEntryOut(e))
}

// getFile answers a file's bytes, a directory's listing, or (format=tar) a tar of either.
func (s *Server) getFile(w http.ResponseWriter, r *http.Request) {
	id, ok := agentID(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	archive := false
	switch f := q.Get(api.QueryFormat); f {
	case "":
	case api.FormatTar:
		archive = true
	default:
		writeError(w, r, &runner.FieldError{Field: api.QueryFormat, Message: "must be " + api.FormatTar + " or left out"})
		return
	}
	fr, err := s.svc.ReadFile(r.Context(), id, q.Get(api.QueryPath), archive)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if fr.Body == nil {
		writeJSON(w, r, http.StatusOK, fileListOut(q.Get(api.QueryPath), fr.Entries))
		return
	}
	defer fr.Body.Close()
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(fileTransferTimeout))
	h := w.Header()
	if archive {
		h.Set("Content-Type", api.ContentTypeTar)
	} else {
		h.Set("Content-Type", api.ContentTypeOutput)
		h.Set("Content-Length", strconv.FormatInt(fr.Entry.Size, 10))
		h.Set(api.HeaderFileMode, fileMode(fr.Entry.Mode))
		h.Set("Last-Modified", fr.Entry.ModTime.UTC().Format(http.TimeFormat))
	}
	w.WriteHeader(http.StatusOK)
	if _, err := io.CopyBuffer(w, fr.Body, make([]byte, 256<<10)); err != nil {
		// Too late for an error answer: cutting the stream short tells the client.
		infoFrom(r.Context()).log.Debug("file download cut short", "agent", id, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// deleteFile removes ?path=, a directory with all below it.
func (s *Server) deleteFile(w http.ResponseWriter, r *http.Request) {
	id, ok := agentID(w, r)
	if !ok {
		return
	}
	if _, err := s.svc.RemoveFile(r.Context(), id, r.URL.Query().Get(api.QueryPath)); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func fileMode(m uint32) string { return fmt.Sprintf("%04o", m) }

func fileEntryOut(e runner.FileEntry) api.FileEntry {
	return api.FileEntry{Name: e.Name, Type: e.Type, Size: e.Size, Mode: fileMode(e.Mode), MTime: api.Time(e.ModTime), Target: e.Target}
}

func fileListOut(path string, es []runner.FileEntry) api.FileList {
	clean, _ := runner.ValidateFilePath(path)
	out := api.FileList{Path: clean, Entries: make([]api.FileEntry, len(es))}
	for i, e := range es {
		out.Entries[i] = fileEntryOut(e)
	}
	return out
}

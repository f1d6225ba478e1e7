package branding

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Static is the static/ subdirectory, read into memory by Load: the files
// are served from there, never from the disk, so that no request can name
// anything else (no path leads out of the directory, no directory is
// listed) and a file changed on the disk changes nothing until a restart.
type Static struct {
	files map[string]*staticFile // by slash-separated path below static/
}

type staticFile struct {
	body     []byte
	ctype    string
	etag     string
	modified time.Time
}

// Limits of the static directory: it is held in memory.
const (
	maxStaticFiles = 1000
	maxStaticBytes = 32 << 20
)

// contentTypes are the content types of the files static/ may hold, by
// extension (lower case). Any other extension refuses the load: an HTML
// or XML file served from gatehouse's origin could run script in it.
var contentTypes = map[string]string{
	".css":   "text/css; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".map":   "application/json",
	".json":  "application/json",
	".txt":   "text/plain; charset=utf-8",
	".png":   "image/png",
	".jpg":   "image/jpeg",
	".jpeg":  "image/jpeg",
	".gif":   "image/gif",
	".webp":  "image/webp",
	".avif":  "image/avif",
	".svg":   "image/svg+xml",
	".ico":   "image/vnd.microsoft.icon",
	".woff":  "font/woff",
	".woff2": "font/woff2",
	".ttf":   "font/ttf",
	".otf":   "font/otf",
}

// StaticExtensions are the extensions static files may have, sorted.
func StaticExtensions() []string { return slices.Sorted(maps.Keys(contentTypes)) }

// loadStatic reads dir into memory. Files and directories whose name
// starts with "." are skipped; a symbolic link is followed only inside
// dir (os.Root refuses one leading out).
func loadStatic(dir string) (*Static, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("static files: %w", err)
	}
	defer root.Close()
	fsys := root.FS()
	st := &Static{files: map[string]*staticFile{}}
	total := 0
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		where := filepath.Join(dir, filepath.FromSlash(p))
		fi, err := fs.Stat(fsys, p) // follows a link inside the root
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s: not a regular file (a directory behind a link is not followed)", where)
		}
		ctype, ok := contentTypes[strings.ToLower(path.Ext(p))]
		if !ok {
			return fmt.Errorf("%s: static files may be %s only", where, strings.Join(StaticExtensions(), " "))
		}
		if len(st.files) == maxStaticFiles {
			return fmt.Errorf("%s: more than %d static files", dir, maxStaticFiles)
		}
		if total += int(fi.Size()); total > maxStaticBytes {
			return fmt.Errorf("%s: the static files are more than %d MiB; they are held in memory", dir, maxStaticBytes>>20)
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		sum := sha256.Sum256(body)
		st.files[p] = &staticFile{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, modified: fi.ModTime()}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// Files are the paths of the static files below static/, sorted.
func (st *Static) Files() []string { return slices.Sorted(maps.Keys(st.files)) }

// Serve answers a GET or HEAD of the file name (a slash-separated path
// below static/, as the URL has it below the static prefix) with its
// content type, an ETag and Cache-Control, honouring conditional and
// range requests. It writes nothing and returns false when there is no
// such file: a directory, a path with "." or ".." segments, an empty or
// absolute one are never files.
func (st *Static) Serve(w http.ResponseWriter, r *http.Request, name string) bool {
	if !fs.ValidPath(name) || name == "." || strings.Contains(name, "\\") {
		return false
	}
	f, ok := st.files[name]
	if !ok {
		return false
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	// Names carry no version: a browser keeps a file an hour, then
	// revalidates it with its ETag.
	h.Set("Cache-Control", "public, max-age=3600")
	http.ServeContent(w, r, name, f.modified, bytes.NewReader(f.body))
	return true
}

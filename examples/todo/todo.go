package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/guard"
)

// The API's permissions, as a DRF view's permission_classes would name
// them. Deleting takes an OAuth token with the write scope (DOT's
// TokenHasReadWriteScope) or a user holding todo.delete_item (a DRF key,
// a simplejwt token or a read-only OAuth token of such a user); never a
// token issued to a client alone.
var (
	canList   = guard.IsAuthenticated
	canCreate = guard.IsAuthenticated
	canDelete = guard.And(guard.IsAuthenticated, guard.Or(guard.TokenHasReadWriteScope(), guard.HasPermission("todo.delete_item")))
	canAdmin  = guard.IsAdminUser
)

// maxTitle is the longest title, in characters (a Django CharField's
// max_length).
const maxTitle = 200

// item is one to-do of one user.
type item struct {
	ID    int64  `json:"id"`
	Owner int64  `json:"owner"`
	Title string `json:"title"`
}

// todos holds every user's items in memory: the example is about the
// protection, not the storage.
type todos struct {
	mu    sync.Mutex
	next  int64
	items []item // by id
}

// routes are the API's routes behind g. Each handler runs only when its
// permission passed, with the request's principal in its context.
func routes(g *guard.Guard, t *todos) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /todos/{$}", g.Protect(canList, http.HandlerFunc(t.mine)))
	mux.Handle("POST /todos/{$}", g.Protect(canCreate, http.HandlerFunc(t.create)))
	mux.Handle("DELETE /todos/{id}/{$}", g.Protect(canDelete, http.HandlerFunc(t.remove)))
	mux.Handle("GET /admin/todos/{$}", g.Protect(canAdmin, http.HandlerFunc(t.all)))
	return mux
}

// mine lists the caller's items.
func (t *todos) mine(w http.ResponseWriter, r *http.Request) {
	owner := guard.PrincipalFrom(r.Context()).UserID
	t.mu.Lock()
	out := []item{}
	for _, it := range t.items {
		if it.Owner == owner {
			out = append(out, it)
		}
	}
	t.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// all lists every user's items (staff only).
func (t *todos) all(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	out := append([]item{}, t.items...)
	t.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// create adds an item from {"title": "..."}: 201 with the item, or 400
// with DRF's field errors or parse error.
func (t *todos) create(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title *string `json:"title"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	if err := dec.Decode(&in); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field == "title" {
			writeJSON(w, http.StatusBadRequest, map[string][]string{"title": {"Not a valid string."}})
			return
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"detail": "JSON parse error - " + parseError(err)})
		return
	}
	title := ""
	if in.Title != nil {
		title = strings.TrimSpace(*in.Title)
	}
	switch {
	case in.Title == nil:
		writeJSON(w, http.StatusBadRequest, map[string][]string{"title": {"This field is required."}})
		return
	case title == "":
		writeJSON(w, http.StatusBadRequest, map[string][]string{"title": {"This field may not be blank."}})
		return
	case utf8.RuneCountInString(title) > maxTitle:
		writeJSON(w, http.StatusBadRequest, map[string][]string{"title": {"Ensure this field has no more than 200 characters."}})
		return
	}
	t.mu.Lock()
	t.next++
	it := item{ID: t.next, Owner: guard.PrincipalFrom(r.Context()).UserID, Title: title}
	t.items = append(t.items, it)
	t.mu.Unlock()
	writeJSON(w, http.StatusCreated, it)
}

// remove deletes one of the caller's items: 204, or 404 for an id that is
// not one of theirs.
func (t *todos) remove(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	owner := guard.PrincipalFrom(r.Context()).UserID
	t.mu.Lock()
	i := slices.IndexFunc(t.items, func(it item) bool { return it.ID == id && it.Owner == owner })
	if err == nil && i >= 0 {
		t.items = slices.Delete(t.items, i, i+1)
	}
	t.mu.Unlock()
	if err != nil || i < 0 {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not found."})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// parseError says what is wrong with a body, without echoing it.
func parseError(err error) string {
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &tooBig):
		return "request body too large"
	case errors.As(err, &syntax):
		return "invalid JSON at byte " + strconv.FormatInt(syntax.Offset, 10)
	}
	return "expected a JSON object"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

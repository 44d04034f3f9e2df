package origin

import (
	"net/http"
	"strconv"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/postgres"
)

// createdKey is the answer to POST /keys: the key as listed, plus the key
// itself, which no other answer holds.
type createdKey struct {
	rebound.APIKey
	Key string `json:"key"`
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	o, err := decodeObject(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	in, err := keyFields(o)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var key string
	key, in.Hash, in.Prefix = rebound.IssueKey()
	k, err := s.store.CreateKey(r.Context(), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, createdKey{APIKey: k, Key: key})
}

// keyFields reads and validates the fields of a new key.
func keyFields(o object) (postgres.NewKey, error) {
	var in postgres.NewKey
	name, err := get[string](o, "name")
	if err != nil {
		return in, err
	}
	if !name.Set {
		return in, rebound.FieldErrorf(rebound.EValidation, "name", "name is required")
	}
	if err := rebound.ValidateKeyName(name.Value); err != nil {
		return in, err
	}
	role, err := get[string](o, "role")
	if err != nil {
		return in, err
	}
	if !role.Set {
		return in, rebound.FieldErrorf(rebound.EValidation, "role", "role is required")
	}
	if in.Role, err = rebound.ParseRole(role.Value, "role"); err != nil {
		return in, err
	}
	user, err := get[*int64](o, "user_id")
	if err != nil {
		return in, err
	}
	expires, err := getTime(o, "expires_at")
	if err != nil {
		return in, err
	}
	in.Name, in.UserID, in.ExpiresAt = name.Value, user.Value, expires.Value
	return in, rebound.ValidateNewKey(in.Role, in.UserID, in.ExpiresAt, time.Now())
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	p := q.page()
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	keys, total, err := s.store.ListKeys(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list[rebound.APIKey]{Data: keys, Page: p.Page, PerPage: p.PerPage, Total: total})
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		s.writeError(w, r, rebound.Errorf(rebound.ENotFound, "key not found"))
		return
	}
	if _, err := s.store.RevokeKey(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.auth.forget()
	w.WriteHeader(http.StatusNoContent)
}

package origin

import (
	"net/http"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/postgres"
)

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	o, err := decodeObject(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	username, email, err := userFields(o, true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.store.CreateUser(r.Context(), *username, *email)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, u)
}

// userFields reads and validates username and email; required makes absent
// fields an error (create), otherwise they come back nil (update).
func userFields(o object, required bool) (username, email *string, err error) {
	name, err := get[string](o, "username")
	if err != nil {
		return nil, nil, err
	}
	mail, err := get[string](o, "email")
	if err != nil {
		return nil, nil, err
	}
	if required && !name.Set {
		return nil, nil, rebound.FieldErrorf(rebound.EValidation, "username", "username is required")
	}
	if required && !mail.Set {
		return nil, nil, rebound.FieldErrorf(rebound.EValidation, "email", "email is required")
	}
	if name.Set {
		if err := rebound.ValidateUsername(name.Value); err != nil {
			return nil, nil, err
		}
		username = &name.Value
	}
	if mail.Set {
		normalized, err := rebound.NormalizeEmail(mail.Value)
		if err != nil {
			return nil, nil, err
		}
		email = &normalized
	}
	return username, email, nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	p := q.page()
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	users, total, err := s.store.ListUsers(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list[rebound.User]{Data: users, Page: p.Page, PerPage: p.PerPage, Total: total})
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "user")
	// An author may read its own user, no other (SPEC 8: 403, not 404).
	if who := principal(r); err == nil && !who.Owns(&id) {
		err = rebound.Errorf(rebound.EForbidden, "an author key may read its own user only")
	}
	if err == nil {
		var u rebound.User
		if u, err = s.store.GetUser(r.Context(), id); err == nil {
			writeJSON(w, http.StatusOK, u)
			return
		}
	}
	s.writeError(w, r, err)
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := decodeObject(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	username, email, err := userFields(o, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.store.UpdateUser(r.Context(), id, postgres.UserPatch{Username: username, Email: email})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "user")
	if err == nil {
		err = s.store.DeleteUser(r.Context(), id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

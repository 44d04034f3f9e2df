package origin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/postgres"
)

func (s *Server) createEvent(w http.ResponseWriter, r *http.Request) {
	o, err := decodeObject(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := eventFields(o)
	if err == nil {
		e.Details, err = withActor(e.Details, principal(r).Actor())
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.store.CreateEvent(r.Context(), e)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func eventFields(o object) (rebound.Event, error) {
	var e rebound.Event
	kind, err := get[string](o, "event_type")
	if err != nil {
		return e, err
	}
	if !kind.Set {
		return e, rebound.FieldErrorf(rebound.EValidation, "event_type", "event_type is required")
	}
	if err := rebound.ValidateEventType(kind.Value); err != nil {
		return e, err
	}
	e.EventType = kind.Value
	for _, f := range []struct {
		name string
		dst  **int64
	}{{"url_id", &e.URLID}, {"user_id", &e.UserID}} {
		v, err := get[*int64](o, f.name)
		if err != nil {
			return e, err
		}
		if v.Value != nil && *v.Value < 1 {
			return e, rebound.FieldErrorf(rebound.ENotFound, f.name, "%s %d names no row", f.name, *v.Value)
		}
		*f.dst = v.Value
	}
	if raw, ok := o["details"]; ok && string(raw) != "null" {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil || m == nil {
			return e, rebound.FieldErrorf(rebound.EBadRequest, "details", "details must be a JSON object")
		}
		// Postgres's jsonb cannot hold the NUL character.
		if bytes.Contains(raw, []byte(`\u0000`)) {
			return e, rebound.FieldErrorf(rebound.EValidation, "details", "details must not contain the NUL character")
		}
		e.Details = raw
	}
	return e, nil
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	f := postgres.EventFilter{URLID: q.id("url_id"), UserID: q.id("user_id"), EventType: q.str("event_type")}
	p := q.page()
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	events, total, err := s.store.ListEvents(r.Context(), f, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list[rebound.Event]{Data: events, Page: p.Page, PerPage: p.PerPage, Total: total})
}

// withActor sets details.actor: who caused the event, in place of anything
// the client put there, since a client may not speak for another key.
func withActor(details json.RawMessage, actor json.RawMessage) (json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if len(details) > 0 {
		if err := json.Unmarshal(details, &m); err != nil {
			return nil, rebound.FieldErrorf(rebound.EBadRequest, "details", "details must be a JSON object")
		}
	}
	m["actor"] = actor
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode event details: %w", err)
	}
	return b, nil
}

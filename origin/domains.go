package origin

import (
	"context"
	"net/http"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/postgres"
)

// domainURLs reads and validates a domain's optional URLs.
func (s *Server) domainURLs(o object) (postgres.DomainPatch, error) {
	var p postgres.DomainPatch
	var err error
	for _, f := range []struct {
		name string
		opt  *postgres.Opt[*string]
	}{{"not_found_url", &p.NotFoundURL}, {"root_url", &p.RootURL}} {
		if *f.opt, err = get[*string](o, f.name); err != nil {
			return p, err
		}
		if v := f.opt.Value; v != nil {
			if err := s.shortURLs.ValidateOriginalURL(*v); err != nil {
				return p, rebound.FieldErrorf(rebound.EValidation, f.name, "%s must be an absolute http or https URL with a host, not a short link", f.name)
			}
		}
	}
	return p, nil
}

func (s *Server) createDomain(w http.ResponseWriter, r *http.Request) {
	o, err := decodeObject(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	host, err := get[string](o, "host")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !host.Set {
		s.writeError(w, r, rebound.FieldErrorf(rebound.EValidation, "host", "host is required"))
		return
	}
	h, err := rebound.NormalizeHost(host.Value, "host")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if h == s.shortURLs.Host() {
		s.writeError(w, r, rebound.FieldErrorf(rebound.EConflict, "host", "%s is the default domain (REBOUND_PUBLIC_URL)", h))
		return
	}
	p, err := s.domainURLs(o)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.store.CreateDomain(r.Context(), rebound.Domain{Host: h, NotFoundURL: p.NotFoundURL.Value, RootURL: p.RootURL.Value})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.publishDomains(r.Context())
	writeJSON(w, http.StatusCreated, d)
}

func (s *Server) listDomains(w http.ResponseWriter, r *http.Request) {
	ds, err := s.store.Domains(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Data []rebound.Domain `json:"data"`
	}{ds})
}

func (s *Server) updateDomain(w http.ResponseWriter, r *http.Request) {
	o, err := decodeObject(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, ok := o["host"]; ok {
		s.writeError(w, r, rebound.FieldErrorf(rebound.EValidation, "host", "a domain's host cannot change: create another"))
		return
	}
	p, err := s.domainURLs(o)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	host, err := domainHost(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.store.UpdateDomain(r.Context(), host, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.publishDomains(r.Context())
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) deleteDomain(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	withLinks := q.boolean("with_links")
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	host, err := domainHost(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	deleted, err := s.store.DeleteDomain(r.Context(), host, withLinks != nil && *withLinks, principal(r).Actor())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for _, l := range deleted {
		s.sync.removed(r.Context(), l.Key(), l.Version)
	}
	s.publishDomains(r.Context())
	w.WriteHeader(http.StatusNoContent)
}

// domainHost is the {host} of a domain's path, normalised; a value that
// cannot be a host names no domain.
func domainHost(r *http.Request) (string, error) {
	host, err := rebound.NormalizeHost(r.PathValue("host"), "host")
	if err != nil {
		return "", rebound.Errorf(rebound.ENotFound, "no domain has this host")
	}
	return host, nil
}

// publishDomains copies every domain to Redis and tells the edges, which
// read them again (from Postgres; Redis's copy serves them while Postgres
// is down). When Redis does not take it, edges still read the domains
// again within their refresh interval.
func (s *Server) publishDomains(ctx context.Context) {
	ds, err := s.store.Domains(ctx)
	if err == nil {
		err = s.sync.toRedis(func() error { return s.cache.StoreDomains(ctx, ds) })
	}
	if err != nil {
		s.log.WarnContext(ctx, "domains not published; edges read them again within 30 s", "err", err, "request_id", requestID(ctx))
	}
}

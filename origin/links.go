package origin

import (
	"net/http"
	"strings"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/postgres"
	"github.com/reboundhq/rebound/targeting"
)

// linkJSON is a link as the API shows it: every column and its short URL.
type linkJSON struct {
	rebound.Link
	ShortURL string `json:"short_url"`
}

func (s *Server) linkJSON(l rebound.Link) linkJSON {
	return linkJSON{Link: l, ShortURL: s.shortURLs.ShortURLOn(l.Domain, l.ShortCode)}
}

// linkPatch reads and validates the link fields of a body. It serves create
// (every field optional but original_url) and update (every field optional).
func (s *Server) linkPatch(o object) (postgres.LinkPatch, error) {
	var p postgres.LinkPatch
	var err error
	if p.OriginalURL, err = get[string](o, "original_url"); err != nil {
		return p, err
	}
	if p.UserID, err = get[*int64](o, "user_id"); err != nil {
		return p, err
	}
	if p.Title, err = get[*string](o, "title"); err != nil {
		return p, err
	}
	if p.ShortCode, err = get[string](o, "short_code"); err != nil {
		return p, err
	}
	if p.RedirectType, err = get[int](o, "redirect_type"); err != nil {
		return p, err
	}
	if p.ForwardQuery, err = get[bool](o, "forward_query"); err != nil {
		return p, err
	}
	if p.IsActive, err = get[bool](o, "is_active"); err != nil {
		return p, err
	}
	if p.ExpiresAt, err = getTime(o, "expires_at"); err != nil {
		return p, err
	}
	if p.MaxClicks, err = get[*int64](o, "max_clicks"); err != nil {
		return p, err
	}
	if p.Tags, err = get[[]string](o, "tags"); err != nil {
		return p, err
	}
	if p.Tags.Set {
		if p.Tags.Value, err = rebound.NormalizeTags(p.Tags.Value, "tags"); err != nil {
			return p, err
		}
	}
	if p.Domain, err = get[*string](o, "domain"); err != nil {
		return p, err
	}
	if p.Domain.Set && p.Domain.Value != nil {
		host, err := rebound.NormalizeHost(*p.Domain.Value, "domain")
		if err != nil {
			return p, err
		}
		// The default domain's own host is the default domain.
		if host == s.shortURLs.Host() {
			p.Domain.Value = nil
		} else {
			p.Domain.Value = &host
		}
	}
	password, err := get[*string](o, "password")
	if err != nil {
		return p, err
	}
	if password.Set {
		p.PasswordHash = postgres.Some[*string](nil)
		if password.Value != nil {
			hash, err := rebound.HashPassword(*password.Value)
			if err != nil {
				return p, err
			}
			p.PasswordHash.Value = &hash
		}
	}
	if raw, ok := o["rules"]; ok {
		rules, err := rebound.ParseRules(raw, s.shortURLs.ValidateOriginalURL)
		if err != nil {
			return p, err
		}
		p.Rules = postgres.Some(rules)
	}
	switch {
	case p.OriginalURL.Set:
		if err := s.shortURLs.ValidateOriginalURL(p.OriginalURL.Value); err != nil {
			return p, err
		}
	}
	if p.UserID.Set && p.UserID.Value != nil && *p.UserID.Value < 1 {
		return p, rebound.FieldErrorf(rebound.ENotFound, "user_id", "user_id %d names no user", *p.UserID.Value)
	}
	if p.Title.Set && p.Title.Value != nil {
		if err := rebound.ValidateTitle(*p.Title.Value); err != nil {
			return p, err
		}
	}
	if p.ShortCode.Set {
		if err := rebound.ValidateShortCode(p.ShortCode.Value); err != nil {
			return p, err
		}
	}
	if p.RedirectType.Set {
		if err := rebound.ValidateRedirectType(p.RedirectType.Value); err != nil {
			return p, err
		}
	}
	if p.MaxClicks.Set && p.MaxClicks.Value != nil && *p.MaxClicks.Value < 1 {
		return p, rebound.FieldErrorf(rebound.EValidation, "max_clicks", "max_clicks must be a positive whole number or null")
	}
	return p, nil
}

func (s *Server) createLink(w http.ResponseWriter, r *http.Request) {
	o, err := decodeObject(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.linkPatch(o)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !p.OriginalURL.Set {
		s.writeError(w, r, rebound.FieldErrorf(rebound.EValidation, "original_url", "original_url is required"))
		return
	}
	if p.ExpiresAt.Value != nil && !p.ExpiresAt.Value.After(time.Now()) {
		s.writeError(w, r, rebound.FieldErrorf(rebound.EValidation, "expires_at", "expires_at must be in the future"))
		return
	}
	who := principal(r)
	if who.Role == rebound.RoleAuthor {
		if !p.UserID.Set {
			p.UserID = postgres.Some(who.UserID)
		} else if !who.Owns(p.UserID.Value) {
			s.writeError(w, r, rebound.FieldErrorf(rebound.EForbidden, "user_id", "an author key creates links of its own user only"))
			return
		}
	}
	in := postgres.NewLink{
		UserID: p.UserID.Value, ShortCode: p.ShortCode.Value, OriginalURL: p.OriginalURL.Value, Title: p.Title.Value,
		IsActive: true, RedirectType: 302, ForwardQuery: p.ForwardQuery.Value, ExpiresAt: p.ExpiresAt.Value,
		MaxClicks: p.MaxClicks.Value, Tags: p.Tags.Value, Rules: p.Rules.Value, Domain: p.Domain.Value,
		PasswordHash: p.PasswordHash.Value, Actor: who.Actor(),
	}
	if p.IsActive.Set {
		in.IsActive = p.IsActive.Value
	}
	if p.RedirectType.Set {
		in.RedirectType = p.RedirectType.Value
	}
	l, err := s.store.CreateLink(r.Context(), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.sync.stored(r.Context(), l)
	writeJSON(w, http.StatusCreated, s.linkJSON(l))
}

func (s *Server) listLinks(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	f := postgres.LinkFilter{UserID: q.id("user_id"), IsActive: q.boolean("is_active"), ShortCode: q.str("short_code"),
		Tags: q.tags("tag"), Query: q.search("q")}
	sort := q.sort("sort")
	p := q.page()
	if q.err != nil {
		s.writeError(w, r, q.err)
		return
	}
	out := list[linkJSON]{Data: []linkJSON{}, Page: p.Page, PerPage: p.PerPage}
	if who := principal(r); who.Role == rebound.RoleAuthor {
		// An author lists its own user's links; another user's are, to it,
		// absent: an empty list, not an error.
		if f.UserID != nil && !who.Owns(f.UserID) {
			writeJSON(w, http.StatusOK, out)
			return
		}
		f.UserID = who.UserID
	}
	links, total, err := s.store.ListLinks(r.Context(), f, sort, p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out.Total = total
	for _, l := range links {
		out.Data = append(out.Data, s.linkJSON(l))
	}
	writeJSON(w, http.StatusOK, out)
}

// ownedLinkID returns the request's {id}, after checking, for an author,
// that the link is its user's: another user's is not_found, as if absent.
// Other roles may touch every link, so nothing is read here for them: the
// handler's own query answers not_found for a missing one.
func (s *Server) ownedLinkID(r *http.Request) (int64, error) {
	id, err := pathID(r, "url")
	who := principal(r)
	if err != nil || who.Role != rebound.RoleAuthor {
		return id, err
	}
	l, err := s.store.GetLink(r.Context(), id)
	if err == nil && !who.Owns(l.UserID) {
		err = rebound.Errorf(rebound.ENotFound, "url not found")
	}
	return id, err
}

func (s *Server) getLink(w http.ResponseWriter, r *http.Request) {
	l, err := s.visibleLink(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.linkJSON(l))
}

func (s *Server) updateLink(w http.ResponseWriter, r *http.Request) {
	id, err := s.ownedLinkID(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := decodeObject(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.linkPatch(o)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	who := principal(r)
	if p.UserID.Set && !who.Owns(p.UserID.Value) {
		s.writeError(w, r, rebound.FieldErrorf(rebound.EForbidden, "user_id", "an author key cannot give a link to another user"))
		return
	}
	before, after, err := s.store.UpdateLink(r.Context(), id, p, who.Actor())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.sync.changed(r.Context(), before, after)
	writeJSON(w, http.StatusOK, s.linkJSON(after))
}

func (s *Server) deleteLink(w http.ResponseWriter, r *http.Request) {
	id, err := s.ownedLinkID(r)
	var l rebound.Link
	if err == nil {
		l, err = s.store.DeleteLink(r.Context(), id, principal(r).Actor())
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.sync.removed(r.Context(), l.Key(), l.Version)
	w.WriteHeader(http.StatusNoContent)
}

// listTags answers every tag in use with its links and clicks; an author's
// own links' only.
func (s *Server) listTags(w http.ResponseWriter, r *http.Request) {
	var user *int64
	if who := principal(r); who.Role == rebound.RoleAuthor {
		user = who.UserID
	}
	tags, err := s.store.Tags(r.Context(), user)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Data []postgres.TagCount `json:"data"`
	}{tags})
}

// redirect is the slow path of a redirect, through the origin and Postgres.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("short_code")
	if !rebound.IsCodeShaped([]byte(code)) {
		s.writeError(w, r, rebound.Errorf(rebound.ENotFound, "no link has this code"))
		return
	}
	l, err := s.store.LinkByKey(r.Context(), code)
	if rebound.ErrorCode(err) == rebound.ENotFound {
		s.writeError(w, r, rebound.Errorf(rebound.ENotFound, "no link has this code"))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := time.Now()
	if !l.Live(now) {
		s.writeError(w, r, rebound.Errorf(rebound.EGone, "this link is no longer active"))
		return
	}
	if l.PasswordProtected {
		s.writeError(w, r, rebound.Errorf(rebound.EUnauthorized, "this link needs a password: open it at its short URL"))
		return
	}
	if l.MaxClicks != nil {
		// Through the write breaker: while Redis does not answer, the
		// count fails at once instead of after the client's deadline.
		var n int64
		err := s.sync.toRedis(func() (err error) {
			n, err = s.cache.CountClick(r.Context(), l.ID)
			return err
		})
		if err != nil {
			s.writeError(w, r, rebound.Errorf(rebound.EUnavailable, "click limits cannot be checked right now"))
			return
		}
		if n > *l.MaxClicks {
			s.writeError(w, r, rebound.Errorf(rebound.EGone, "this link has reached its click limit"))
			return
		}
	}
	target, rule := l.OriginalURL, -1
	cacheControl := rebound.RedirectCacheControl(l.RedirectType, s.permanentMaxAge)
	treq := s.targetingRequest(r, l.ID, now)
	if rules := targeting.Compile(l.Rules); rules != nil {
		var vary targeting.Vary
		rule, vary = rules.Match(treq)
		if rule >= 0 {
			target = string(rules.Target(rule))
		}
		cacheControl = targeting.CacheControl
		if v := vary.Header(s.countryHeader); v != "" {
			w.Header().Set("Vary", v)
		}
	}
	agent := treq.Agent()
	c := rebound.Click{EdgeID: s.edgeID, Seq: s.clickSeq.Add(1), LinkID: l.ID, At: now, Rule: rule,
		Referrer: string(rebound.AppendReferrerHost(nil, []byte(r.Referer()))), Bot: rebound.IsBot([]byte(r.UserAgent())),
		Device: agent.Device.String(), OS: agent.OS.String(), Browser: agent.Browser.String(), Country: treq.Country()}
	c.UTMSource, c.UTMMedium, c.UTMCampaign, c.QR = rebound.ParseCampaign(r.URL.RawQuery)
	s.recordClick(r, c)
	// qr=1 marks a scan of the link's QR code, for Rebound only.
	if q := string(rebound.AppendWithoutParam(nil, []byte(r.URL.RawQuery), "qr=1")); l.ForwardQuery && q != "" {
		target = string(rebound.AppendForwarded(nil, []byte(target), []byte(q)))
	}
	w.Header().Set("Location", target)
	w.Header().Set("Cache-Control", cacheControl)
	w.WriteHeader(l.RedirectType)
}

// targetingRequest is what redirect rules read of r, as the edge reads it:
// the client as the failed-authentication limit reads it, and the country
// header only from a trusted proxy.
func (s *Server) targetingRequest(r *http.Request, linkID int64, now time.Time) *targeting.Request {
	req := &targeting.Request{
		UserAgent:      []byte(strings.Join(r.Header.Values("User-Agent"), ", ")),
		AcceptLanguage: []byte(strings.Join(r.Header.Values("Accept-Language"), ",")),
		Query:          []byte(r.URL.RawQuery), Client: s.auth.client(r), Countries: s.countries,
		NowMilli: now.UnixMilli(), LinkID: linkID,
	}
	if s.countryHeader != "" && s.auth.trusted.Contains(peerAddr(r)) {
		req.CountryHeader = []byte(r.Header.Get(s.countryHeader))
	}
	return req
}

// recordClick stores a slow-path click in Postgres, or failing that hands it
// to the click stream; it is lost only when both are down.
func (s *Server) recordClick(r *http.Request, c rebound.Click) {
	ctx := r.Context()
	if _, err := s.store.RecordClicks(ctx, []rebound.Click{c}); err == nil {
		return
	}
	if err := s.cache.AddClicks(ctx, []rebound.Click{c}); err != nil {
		s.metrics.clicksDropped.Inc()
		s.log.WarnContext(ctx, "click lost: postgres and redis unavailable", "err", err, "request_id", requestID(ctx))
	}
}

package cache_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/reboundhq/rebound"
	"github.com/reboundhq/rebound/cache"
	"github.com/reboundhq/rebound/internal/testenv"
)

func TestEntryRoundTrip(t *testing.T) {
	exp := time.UnixMilli(1_900_000_000_123)
	max := int64(9)
	uid := int64(4)
	l := rebound.Link{ID: 42, UserID: &uid, ShortCode: "x", OriginalURL: "https://a.org/p|q?x=1", IsActive: true,
		RedirectType: 308, ForwardQuery: true, ExpiresAt: &exp, MaxClicks: &max}
	l.Version = 77
	got, err := cache.UnmarshalEntry(cache.EntryOf(l).Marshal())
	if err != nil {
		t.Fatal(err)
	}
	want := cache.Entry{Version: 77, ID: 42, RedirectType: 308, ForwardQuery: true, Active: true, ExpiresAt: exp.UnixMilli(), MaxClicks: 9, URL: l.OriginalURL}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	// Format 2, written before versions, still reads, as version 0.
	if old, err := cache.UnmarshalEntry([]byte("2|42|302|0|1|0|0|https://a.org/p|q")); err != nil ||
		old != (cache.Entry{ID: 42, RedirectType: 302, Active: true, URL: "https://a.org/p|q"}) {
		t.Fatalf("format 2: %+v, %v", old, err)
	}
	for _, bad := range []string{"", "1|2|3", "9|1|302|0|1|0|0|https://x", "2|x|302|0|1|0|0|https://x", "2|1|302|0|1|0|0|",
		"3|x|1|302|0|1|0|0|https://x", "3|5|1|302|0|1|0|0|", "3|5"} {
		if _, err := cache.UnmarshalEntry([]byte(bad)); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

func TestClicksRoundTrip(t *testing.T) {
	at := time.Unix(1_800_000_000, 123).UTC()
	in := []rebound.Click{{EdgeID: 1, Seq: 2, LinkID: 3, At: at, Referrer: "a.org", Bot: true, Rule: -1},
		{EdgeID: 1, Seq: 3, LinkID: 4, At: at, Rule: -1}, {EdgeID: 1, Seq: 4, LinkID: 4, At: at, Referrer: "b.org", Rule: 19}}
	enc := cache.AppendClicks(nil, in)
	// A click without a rule is encoded as before rules, so an origin of
	// the previous release reads it.
	if line, _, _ := strings.Cut(string(enc), "\n"); line != "1,2,3,1800000000000000123,1,a.org" {
		t.Fatalf("click without a rule encoded as %q", line)
	}
	out := cache.DecodeClicks(append(enc, "garbage\n1,2\nx,1,1,1,1,\n1,5,4,1,0,a.org,20\n1,6,4,1,0,,x\n"...), nil)
	if len(out) != 3 || out[0] != in[0] || out[1] != in[1] || out[2] != in[2] {
		t.Fatalf("decoded %+v", out)
	}
}

// TestClickDimensionsRoundTrip: the dimensions travel beside the clicks,
// and an origin that reads only the clicks (an earlier release) still gets
// every click.
func TestClickDimensionsRoundTrip(t *testing.T) {
	at := time.Unix(1_800_000_000, 0).UTC()
	in := []rebound.Click{
		{EdgeID: 1, Seq: 1, LinkID: 3, At: at, Rule: -1, Device: "mobile", OS: "ios", Browser: "safari", Country: "DE", QR: true,
			UTMSource: "news, letter", UTMMedium: "e\nmail", UTMCampaign: "café&co"},
		{EdgeID: 1, Seq: 2, LinkID: 3, At: at, Rule: 0, Device: "other", OS: "other", Browser: "other"},
	}
	clicks, dims := cache.AppendClicks(nil, in), cache.AppendDimensions(nil, in)
	out := cache.DecodeClicks(clicks, dims)
	if len(out) != 2 || out[0] != in[0] || out[1] != in[1] {
		t.Fatalf("decoded %+v", out)
	}
	old := cache.DecodeClicks(clicks, nil)
	if len(old) != 2 || old[0].Device != "" || old[0].Seq != 1 {
		t.Fatalf("without dimensions %+v", old)
	}
	// A malformed dimensions line costs the click its dimensions only.
	bad := cache.DecodeClicks(clicks, []byte("x,y\nmobile,ios,safari,DE,1,%zz,,\n"))
	if len(bad) != 2 || bad[0].Device != "" || bad[1].Device != "" || bad[1].Seq != 2 {
		t.Fatalf("malformed dimensions: %+v", bad)
	}
}

func TestLinkStates(t *testing.T) {
	c := testenv.NewCache(t)
	ctx := context.Background()
	l := rebound.Link{ID: 1, ShortCode: "here", OriginalURL: "https://a.org", IsActive: true, RedirectType: 302}
	if err := c.PutLinks(ctx, []rebound.Link{l}); err != nil {
		t.Fatal(err)
	}
	if err := c.StoreAbsent(ctx, "gone", 1); err != nil {
		t.Fatal(err)
	}
	// A fill never overwrites what a write put there.
	if err := c.FillAbsent(ctx, "here"); err != nil {
		t.Fatal(err)
	}
	out := make([]cache.Lookup, 3)
	if err := c.GetLinks(ctx, []string{"here", "gone", "never"}, out); err != nil {
		t.Fatal(err)
	}
	if out[0].State != cache.Found || out[0].Entry.URL != "https://a.org" || out[1].State != cache.Absent || out[2].State != cache.Miss {
		t.Fatalf("states %+v", out)
	}
	if err := c.SeedClickCount(ctx, 1, 5); err != nil {
		t.Fatal(err)
	}
	if n, err := c.CountClick(ctx, 1); err != nil || n != 6 {
		t.Fatalf("count %d %v", n, err)
	}
}

// recorder is an Invalidator that hands every message to the test.
type recorder struct {
	codes chan string
	live  chan bool
}

func (r recorder) Invalidate(code string)        { r.codes <- code }
func (r recorder) DomainsChanged()               { r.codes <- "domains changed" }
func (r recorder) InvalidateAll()                {}
func (r recorder) SubscriptionChanged(live bool) { r.live <- live }

// subscribe subscribes a recorder to c's invalidations for the rest of the
// test, once the subscription is live.
func subscribe(t *testing.T, c *cache.Client) (context.Context, recorder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	rec := recorder{codes: make(chan string, 8), live: make(chan bool, 8)}
	go c.Subscribe(ctx, rec)
	select {
	case <-rec.live:
	case <-time.After(5 * time.Second):
		t.Fatal("subscription never went live")
	}
	return ctx, rec
}

func TestStoreWritesThroughAndInvalidates(t *testing.T) {
	c := testenv.NewCache(t)
	ctx, rec := subscribe(t, c)
	a := rebound.Link{ID: 1, ShortCode: "a", OriginalURL: "https://a.org", IsActive: true, RedirectType: 302}
	b := rebound.Link{ID: 2, ShortCode: "b", OriginalURL: "https://b.org", IsActive: true, RedirectType: 301}
	if err := c.StoreLinks(ctx, a, b); err != nil {
		t.Fatal(err)
	}
	if err := c.StoreAbsent(ctx, "gone", 3); err != nil {
		t.Fatal(err)
	}
	out := make([]cache.Lookup, 3)
	if err := c.GetLinks(ctx, []string{"a", "b", "gone"}, out); err != nil {
		t.Fatal(err)
	}
	if out[0].Entry.URL != "https://a.org" || out[1].Entry.URL != "https://b.org" || out[2].State != cache.Absent {
		t.Fatalf("entries %+v", out)
	}
	for _, want := range []string{"a", "b", "gone"} {
		select {
		case got := <-rec.codes:
			if got != want {
				t.Fatalf("invalidated %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no invalidation of %q", want)
		}
	}
}

// Store writes a batch's links and absences, each guarded by its version,
// and invalidates every code of it on the edges.
func TestStoreWritesABatchOfLinksAndAbsences(t *testing.T) {
	c := testenv.NewCache(t)
	ctx, rec := subscribe(t, c)
	newer := rebound.Link{ID: 3, ShortCode: "newer", OriginalURL: "https://newer.org", IsActive: true, RedirectType: 302, Version: 9}
	if err := c.StoreLinks(ctx, newer); err != nil {
		t.Fatal(err)
	}
	<-rec.codes
	a := rebound.Link{ID: 1, ShortCode: "a", OriginalURL: "https://a.org", IsActive: true, RedirectType: 302, Version: 4}
	if err := c.Store(ctx, []rebound.Link{a}, map[string]int64{"gone": 5, "newer": 6}); err != nil {
		t.Fatal(err)
	}
	out := make([]cache.Lookup, 3)
	if err := c.GetLinks(ctx, []string{"a", "gone", "newer"}, out); err != nil {
		t.Fatal(err)
	}
	if out[0].Entry.URL != "https://a.org" || out[1].State != cache.Absent || out[2].Entry.URL != "https://newer.org" {
		t.Fatalf("after the batch: %+v; want a written, gone absent, newer kept over an older absence", out)
	}
	got := map[string]bool{}
	for range 3 {
		select {
		case code := <-rec.codes:
			got[code] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("invalidated %v, want a, gone and newer", got)
		}
	}
	if !got["a"] || !got["gone"] || !got["newer"] {
		t.Fatalf("invalidated %v, want a, gone and newer", got)
	}
}

// Two writes of one link reach Redis in either order when they race; the
// newer version must stay whichever arrives last, and a tombstone must hold
// off an older write but not a link created later under the same code.
func TestStoreKeepsTheNewestVersion(t *testing.T) {
	rdb, prefix := testenv.NewRedis(t)
	c := cache.New(rdb, cache.Options{Prefix: prefix, NegativeTTL: time.Minute})
	ctx := context.Background()
	link := func(version int64, url string) rebound.Link {
		return rebound.Link{ID: 1, ShortCode: "v", OriginalURL: url, IsActive: true, RedirectType: 302, Version: version}
	}
	state := func() cache.Lookup {
		t.Helper()
		out := make([]cache.Lookup, 1)
		if err := c.GetLinks(ctx, []string{"v"}, out); err != nil {
			t.Fatal(err)
		}
		return out[0]
	}
	wantURL := func(step, url string) {
		t.Helper()
		if got := state(); got.State != cache.Found || got.Entry.URL != url {
			t.Fatalf("%s: %+v, want %s", step, got, url)
		}
	}
	store := func(l rebound.Link) {
		t.Helper()
		if err := c.StoreLinks(ctx, l); err != nil {
			t.Fatal(err)
		}
	}

	store(link(5, "https://five.org"))
	store(link(4, "https://four.org"))
	wantURL("an older write after a newer one", "https://five.org")
	store(link(5, "https://five.org/again"))
	wantURL("the same version again (a retried write)", "https://five.org/again")
	store(link(6, "https://six.org"))
	wantURL("a newer write", "https://six.org")

	if err := c.StoreAbsent(ctx, "v", 7); err != nil {
		t.Fatal(err)
	}
	store(link(6, "https://six.org"))
	if got := state(); got.State != cache.Absent {
		t.Fatalf("an update committed before the delete brought the link back: %+v", got)
	}
	if err := c.StoreAbsent(ctx, "v", 6); err != nil {
		t.Fatal(err)
	}
	store(link(8, "https://eight.org"))
	wantURL("a link created under the code after its deletion", "https://eight.org")

	// What carries no version (an entry of format 2, an edge's fill of an
	// unknown code) gives way to any write.
	key := prefix + "l:{v}"
	for _, unversioned := range []string{"2|1|302|0|1|0|0|https://old.org", "-"} {
		if err := rdb.Set(ctx, key, unversioned, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		store(link(1, "https://one.org"))
		wantURL("over "+unversioned, "https://one.org")
	}

	// A Redis that lost its scripts (restarted, or flushed here) is given
	// the script again and the write goes through.
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	store(link(9, "https://nine.org"))
	wantURL("after SCRIPT FLUSH", "https://nine.org")
}

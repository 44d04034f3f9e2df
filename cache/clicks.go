package cache

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reboundhq/rebound"
)

// ClickBatch is one stream message: clicks an edge sent together.
type ClickBatch struct {
	ID     string
	Clicks []rebound.Click
}

// AddClicks appends a batch of clicks to the click stream. The batch is
// encoded into a pooled buffer: at tens of thousands of clicks a second a
// fresh buffer of tens of kilobytes per batch gives the edge's garbage
// collector steady work. go-redis has written the bytes when XAdd
// returns, so the buffer can be reused then.
func (c *Client) AddClicks(ctx context.Context, clicks []rebound.Click) error {
	if len(clicks) == 0 {
		return nil
	}
	buf, _ := c.encodeBufs.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	*buf = AppendClicks((*buf)[:0], clicks)
	n := len(*buf)
	*buf = AppendDimensions(*buf, clicks)
	err := c.rdb.XAdd(ctx, &redis.XAddArgs{Stream: c.streamKey(), Values: []any{"c", (*buf)[:n], "d", (*buf)[n:]}}).Err()
	c.encodeBufs.Put(buf)
	if err != nil {
		return fmt.Errorf("add %d clicks to stream: %w", len(clicks), err)
	}
	return nil
}

// AppendClicks appends the encoding of clicks to b, one per line as
// "edge,seq,link,unixnano,bot,referrer", followed by ",rule" when a
// redirect rule chose the click's target. Referrer hosts hold neither ','
// nor newlines (the edge keeps only host bytes). Clicks without a rule
// keep the format an origin of the previous release reads; a rule is
// there only for links with rules, which only an origin of this release
// writes, so an older origin meets one only while the origins themselves
// are being upgraded (docs/operations.md), and then counts the click with
// the rule stuck to its referrer host.
func AppendClicks(b []byte, clicks []rebound.Click) []byte {
	for _, c := range clicks {
		b = strconv.AppendInt(b, c.EdgeID, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, c.Seq, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, c.LinkID, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, c.At.UnixNano(), 10)
		b = append(b, ',')
		b = appendBool(b, c.Bot)
		b = append(b, ',')
		b = append(b, c.Referrer...)
		if c.Rule >= 0 {
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(c.Rule), 10)
		}
		b = append(b, '\n')
	}
	return b
}

// AppendDimensions appends, for each click, a line of what the edge
// derived of its request: "device,os,browser,country,qr,source,medium,
// campaign", the utm values query-escaped (so they hold neither ',' nor a
// newline). They travel in a stream field of their own ("d"), line for line
// beside AppendClicks's ("c"): an origin of an earlier release reads "c"
// alone and stores the clicks without them.
func AppendDimensions(b []byte, clicks []rebound.Click) []byte {
	for _, c := range clicks {
		b = append(b, c.Device...)
		b = append(b, ',')
		b = append(b, c.OS...)
		b = append(b, ',')
		b = append(b, c.Browser...)
		b = append(b, ',')
		b = append(b, c.Country...)
		b = append(b, ',')
		b = appendBool(b, c.QR)
		for _, v := range [...]string{c.UTMSource, c.UTMMedium, c.UTMCampaign} {
			b = append(b, ',')
			b = append(b, url.QueryEscape(v)...)
		}
		b = append(b, '\n')
	}
	return b
}

// DecodeClicks decodes what AppendClicks encoded, and the dimensions
// AppendDimensions encoded beside it (dims may be empty: an edge of an
// earlier release), skipping malformed lines.
func DecodeClicks(b, dims []byte) []rebound.Click {
	var out []rebound.Click
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		var dimLine []byte
		if len(dims) > 0 {
			dimLine = dims
			if i := bytes.IndexByte(dims, '\n'); i >= 0 {
				dimLine, dims = dims[:i], dims[i+1:]
			} else {
				dims = nil
			}
		}
		parts := strings.SplitN(string(line), ",", 7)
		if len(parts) < 6 {
			continue
		}
		rule := -1
		if len(parts) == 7 {
			n, err := strconv.Atoi(parts[6])
			if err != nil || n < 0 || n >= rebound.MaxRules {
				continue
			}
			rule = n
		}
		var nums [4]int64
		ok := true
		for i := range nums {
			n, err := strconv.ParseInt(parts[i], 10, 64)
			if err != nil {
				ok = false
				break
			}
			nums[i] = n
		}
		if !ok {
			continue
		}
		c := rebound.Click{EdgeID: nums[0], Seq: nums[1], LinkID: nums[2],
			At: time.Unix(0, nums[3]).UTC(), Bot: parts[4] == "1", Referrer: parts[5], Rule: rule}
		decodeDimensions(&c, dimLine)
		out = append(out, c)
	}
	return out
}

// decodeDimensions sets what a line of AppendDimensions tells; a malformed
// line tells nothing (the click still counts).
func decodeDimensions(c *rebound.Click, line []byte) {
	f := strings.Split(string(line), ",")
	if len(f) != 8 {
		return
	}
	var utm [3]string
	for i := range utm {
		v, err := url.QueryUnescape(f[5+i])
		if err != nil {
			return
		}
		utm[i] = v
	}
	c.Device, c.OS, c.Browser, c.Country, c.QR = f[0], f[1], f[2], f[3], f[4] == "1"
	c.UTMSource, c.UTMMedium, c.UTMCampaign = utm[0], utm[1], utm[2]
}

// EnsureClickGroup creates the consumer group that reads the click stream,
// from its start, unless it exists.
func (c *Client) EnsureClickGroup(ctx context.Context, group string) error {
	err := c.rdb.XGroupCreateMkStream(ctx, c.streamKey(), group, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create click consumer group: %w", err)
	}
	return nil
}

// ReadClicks returns batches for this consumer: first batches another
// consumer took and did not acknowledge within minIdle (it died), then new
// ones, waiting up to block for them.
func (c *Client) ReadClicks(ctx context.Context, group, consumer string, count int64, block, minIdle time.Duration) ([]ClickBatch, error) {
	msgs, _, err := c.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
		Stream: c.streamKey(), Group: group, Consumer: consumer, MinIdle: minIdle, Start: "0-0", Count: count,
	}).Result()
	if err != nil && !isNil(err) {
		return nil, c.groupError(ctx, group, fmt.Errorf("claim idle clicks: %w", err))
	}
	if len(msgs) == 0 {
		streams, err := c.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: group, Consumer: consumer, Streams: []string{c.streamKey(), ">"}, Count: count, Block: block,
		}).Result()
		if err != nil && !isNil(err) {
			return nil, c.groupError(ctx, group, fmt.Errorf("read clicks: %w", err))
		}
		for _, s := range streams {
			msgs = append(msgs, s.Messages...)
		}
	}
	out := make([]ClickBatch, 0, len(msgs))
	for _, m := range msgs {
		v, _ := m.Values["c"].(string)
		d, _ := m.Values["d"].(string)
		out = append(out, ClickBatch{ID: m.ID, Clicks: DecodeClicks([]byte(v), []byte(d))})
	}
	return out, nil
}

// groupError recreates the group when Redis lost it (a restart without
// persistence) and returns err.
func (c *Client) groupError(ctx context.Context, group string, err error) error {
	if strings.Contains(err.Error(), "NOGROUP") {
		_ = c.EnsureClickGroup(ctx, group)
	}
	return err
}

// AckClicks acknowledges and deletes stored batches, so the stream only
// holds clicks not yet in Postgres.
func (c *Client) AckClicks(ctx context.Context, group string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	pipe := c.rdb.Pipeline()
	pipe.XAck(ctx, c.streamKey(), group, ids...)
	pipe.XDel(ctx, c.streamKey(), ids...)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("ack %d click batches: %w", len(ids), err)
	}
	return nil
}

// PendingClicks returns the number of click batches in the stream.
func (c *Client) PendingClicks(ctx context.Context) (int64, error) {
	n, err := c.rdb.XLen(ctx, c.streamKey()).Result()
	if err != nil {
		return 0, fmt.Errorf("length of click stream: %w", err)
	}
	return n, nil
}

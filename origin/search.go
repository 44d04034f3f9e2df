package origin

import (
	"context"
	"time"

	"github.com/reboundhq/rebound/postgres"
)

// searchIndexInterval is how often the origin moves links queued by
// writes into the search index (postgres.IndexSearch). Searches are exact
// whatever the lag; the lag only decides how many queued links a search
// reads from urls itself.
const searchIndexInterval = 250 * time.Millisecond

// indexSearch runs the search indexer until ctx ends: every interval, as
// many batches as the queue holds.
func (s *Server) indexSearch(ctx context.Context) {
	tick := time.NewTicker(searchIndexInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for {
			n, err := s.store.IndexSearch(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.log.WarnContext(ctx, "search indexer: will retry", "err", err)
				}
				break
			}
			if n < postgres.SearchBatch { // the queue is empty
				break
			}
		}
	}
}

package edge

import "github.com/reboundhq/rebound"

// botVerdicts remembers rebound.IsBot's answer for recently seen User-Agent
// values. Every redirect asks it, and real traffic carries few distinct
// agents: a browser sends the same one on every request. IsBot scans the
// agent for every marker (about 2.5% of the edge's CPU on hot links); a
// remembered answer costs one hash of the agent and one atomic load.
//
// Each slot packs an agent's 64-bit hash with its verdict in the low bit, so
// it is read and written whole without a lock. Two agents share a slot when
// their hashes agree on the slot bits; the later overwrites the earlier,
// which is then scanned again. Two different agents with hashes equal but
// for the verdict bit would share an answer: a chance of 2^-63 per pair,
// and the answer only labels a click as a bot's or not.
type botVerdicts struct{ hashSlots }

// botVerdictSlots is how many agents an edge remembers verdicts for: 16 KiB
// of slots, ample for the few agents that make most of real traffic.
const botVerdictSlots = 2048

// newBotVerdicts remembers up to size agents (rounded up to a power of two).
func newBotVerdicts(size int) *botVerdicts { return &botVerdicts{newHashSlots(size)} }

// isBot is rebound.IsBot(ua), remembered.
func (v *botVerdicts) isBot(ua []byte) bool {
	h, slot := v.bytesSlot(ua)
	if s := slot.Load(); s&^1 == h && s != 0 {
		return s&1 == 1
	}
	bot := rebound.IsBot(ua)
	s := h
	if bot {
		s |= 1
	}
	slot.Store(s)
	return bot
}

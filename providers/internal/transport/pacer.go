package transport

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits is what the provider's headers said last.
type Limits struct {
	// Window is the length of the short rate-limit window, e.g. 10 s
	// (HubSpot X-HubSpot-RateLimit-Interval-Milliseconds); 0 if unknown.
	Window time.Duration
	// WindowMax is the number of calls allowed per Window
	// (X-HubSpot-RateLimit-Max); 0 if unknown.
	WindowMax int
	// WindowRemaining is the number of calls left in the current window
	// (X-HubSpot-RateLimit-Remaining). It must be set whenever Window and
	// WindowMax are: zero means the window is full.
	WindowRemaining int
	// DailyMax is the daily budget (HubSpot X-HubSpot-RateLimit-Daily,
	// Salesforce api-usage limit); 0 if unknown. Set it only together with
	// DailyRemaining (HubSpot omits the daily headers for OAuth calls): a
	// DailyMax with a zero DailyRemaining means the budget is spent.
	DailyMax int
	// DailyRemaining is the number of calls left in the daily budget
	// (HubSpot -Daily-Remaining; Salesforce limit minus used).
	DailyRemaining int
	// DailyReset is when the daily budget is renewed; zero if unknown.
	DailyReset time.Time
	// Observed is when the headers were read.
	Observed time.Time
}

// Pacing parameters.
const (
	// maxBurst caps the limiter's burst. The token bucket lets burst +
	// WindowMax calls through in one window; a burst of at most a tenth of
	// the window (and at most 10) lets a few concurrent writers start at
	// once while keeping that overshoot small, and the send log removes it.
	maxBurst = 10
	// windowMarginDiv sets the share of a window left unused (1/100, so
	// none below 100 calls per window) for calls other senders make between
	// two observations.
	windowMarginDiv = 100
	// dailyStale is how long daily figures hold when the provider gave no
	// reset time; after it one call may probe the budget again.
	dailyStale = time.Hour
	// logCap bounds the send log kept before the window is known.
	logCap = 1024
)

// mark is one send in a pacer's log. While the send is in flight, at is
// when it was admitted; once its outcome is known, at is when the outcome
// arrived. The provider counted the send at some instant before that, so
// the send has surely left the provider's window Window after at, whatever
// the network latency.
type mark struct {
	at       time.Time
	inflight bool
	// refused is true when the provider refused the send for its rate
	// limit: it may not count in the window, so it frees no room.
	refused bool
}

// pacer spreads the calls of one key (installation) so they stay under the
// provider's window limit, and keeps the daily reserve.
//
// Three mechanisms work together once the window is known: a token bucket
// (rate WindowMax/Window, small burst) spreads steady traffic; a log of the
// key's own sends caps the calls in any rolling Window at WindowMax (less a
// 1% margin), which holds for rolling and fixed windows alike; and
// WindowRemaining corrects that log for calls it does not know about (other
// processes of the same app), so the client does not burst into an
// almost-empty window but waits until it has likely refreshed.
//
// WindowRemaining counts the account's calls, whoever made them. When it
// shows calls that are not the key's own (other replicas of the
// application writing to the same account, each with its own pacer), the
// window is shared, and every pacer sees the same free room at about the
// same time: if each took it at once, they would all take it. A pacer that
// shares the window therefore
//   - reuses at once the room its own sends leave as they leave the window,
//     so that in a full window each sender keeps its share;
//   - takes any other room one call at a time, spread over the window (one
//     call per Window/k while k calls are free), so that N pacers fill an
//     empty window in about Window/N and take its last calls rarely, each
//     after seeing the others' latest;
//   - keeps unused the calls the account makes while its information is in
//     transit (the window's calls per second times the time a send takes
//     plus the slack), which WindowRemaining could not count yet;
//   - when the others' calls are no longer known (no answer for a whole
//     window), takes new room one send at a time until an answer shows
//     them again.
type pacer struct {
	reserve float64

	mu        sync.Mutex
	limits    Limits
	known     bool
	lim       *rate.Limiter
	window    time.Duration
	windowMax int
	// sends is the log of the key's recent sends, in no particular order.
	sends []*mark
	// extern estimates calls in the window that are not in sends, as of
	// the last observation; it holds until externUntil.
	extern      int
	externUntil time.Time
	// shared is true while observations show calls not in sends (other
	// senders): from one that shows some until one a Window later that
	// shows none. It changes only with observations, so a key that has
	// been waiting keeps it.
	shared     bool
	othersSeen time.Time
	// lag is how long the latest observed send took, from admission to
	// its answer: how old that answer's figures may be.
	lag time.Duration
	// freed holds when the key's own sends left the window, while the room
	// each left is reserved for the key's next send.
	freed []time.Time
	// nextClaim is the earliest time a send may take room its own sends
	// did not free, while the window is shared.
	nextClaim time.Time
	// dailySent counts sends the daily figures may not include: those
	// admitted since they were observed, and those in flight then.
	dailySent int
	// inflight counts admitted sends whose outcome is not yet known.
	inflight int
}

// newPacer returns a pacer that keeps reserve of a daily budget.
func newPacer(reserve float64) *pacer {
	return &pacer{reserve: reserve}
}

// burst returns the limiter burst for a window of windowMax calls.
func burst(windowMax int) int {
	return max(1, min(windowMax/10, maxBurst))
}

// latest returns the latest limits.
func (p *pacer) latest() (Limits, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limits, p.known
}

// observe records limits read from a response at now, to a send admitted
// at sent (zero if unknown).
func (p *pacer) observe(l Limits, now, sent time.Time) {
	if l.Observed.IsZero() {
		l.Observed = now
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.known && l.Observed.Before(p.limits.Observed) {
		return // a response overtaken by a newer one
	}
	p.limits = l
	p.known = true
	p.lag = 0
	if !sent.IsZero() && now.After(sent) {
		p.lag = now.Sub(sent)
	}
	// The provider may not have counted the sends still in flight.
	p.dailySent = p.inflight
	if l.Window <= 0 || l.WindowMax <= 0 {
		return
	}
	if l.Window != p.window || l.WindowMax != p.windowMax {
		p.window, p.windowMax = l.Window, l.WindowMax
		p.lim = rate.NewLimiter(rate.Limit(float64(l.WindowMax)/l.Window.Seconds()), burst(l.WindowMax))
	}
	used := l.WindowMax - max(l.WindowRemaining, 0)
	// Count our sends exactly only when the window is filling up; below
	// that a low estimate of the others' calls does no harm.
	p.prune(l.Observed, 2*used >= l.WindowMax)
	// The provider counted neither the sends it refused nor, as likely as
	// not, those sent after the one answered and still in flight.
	counted, late := 0, 0
	for _, m := range p.sends {
		switch {
		case m.refused:
		case m.inflight && !sent.IsZero() && m.at.After(sent):
			late++
		default:
			counted++
		}
	}
	p.extern = max(0, used-counted)
	p.externUntil = l.Observed.Add(l.Window)
	if p.extern > late {
		// More than the late sends could explain: others send too.
		p.othersSeen = l.Observed
	}
	p.shared = !p.othersSeen.IsZero() && l.Observed.Sub(p.othersSeen) < l.Window
}

// slack is added to the window when deciding that a send has left it, for
// clock granularity at the provider.
func (p *pacer) slack() time.Duration {
	return min(max(p.window/100, 10*time.Millisecond), time.Second)
}

// prune drops sends that have left the window as of now. The log is
// roughly in completion order, so dropping from the front is cheap and
// usually enough; full also drops the ones behind a send still in flight.
func (p *pacer) prune(now time.Time, full bool) {
	if p.window <= 0 {
		if len(p.sends) > logCap {
			p.sends = p.sends[len(p.sends)-logCap:]
		}
		return
	}
	cut := now.Add(-p.window - p.slack())
	i := 0
	for i < len(p.sends) && !p.sends[i].inflight && !p.sends[i].at.After(cut) {
		p.free(p.sends[i])
		i++
	}
	p.sends = p.sends[i:]
	if !full {
		return
	}
	kept := p.sends[:0]
	for _, m := range p.sends {
		if m.inflight || m.at.After(cut) {
			kept = append(kept, m)
		} else {
			p.free(m)
		}
	}
	clear(p.sends[len(kept):])
	p.sends = kept
}

// free records that the send of m has left the window, while the window
// is shared: its room is the key's to reuse for a short while.
func (p *pacer) free(m *mark) {
	if p.shared && !m.refused {
		p.freed = append(p.freed, m.at.Add(p.window+p.slack()))
	}
}

// reusable drops the freed room that has waited too long for a send and
// reports whether any is left. Room a key does not reuse within the slack
// is left to whoever sees it first.
func (p *pacer) reusable(now time.Time) bool {
	cut := now.Add(-p.slack())
	p.freed = slices.DeleteFunc(p.freed, func(at time.Time) bool { return at.Before(cut) })
	return len(p.freed) > 0
}

// margin returns the calls a shared window keeps unused for the calls the
// others sent that the last observation could not count: the window's
// calls per second (used per Window) over the time the observed send took
// plus the slack.
func (p *pacer) margin(used int) int {
	lag := (p.lag + p.slack()).Seconds()
	return int(math.Ceil(float64(used) * lag / p.window.Seconds()))
}

// admit waits until a send for the key may go, and records it; the caller
// passes the returned mark to done once the send has an outcome. admit
// returns a *ReserveError when the daily budget is down to the reserve,
// and a context error when ctx ends first.
func (p *pacer) admit(ctx context.Context) (*mark, error) {
	p.mu.Lock()
	if err := p.checkReserve(time.Now()); err != nil {
		p.mu.Unlock()
		return nil, err
	}
	lim := p.lim
	p.mu.Unlock()
	if lim != nil {
		if err := lim.Wait(ctx); err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return nil, cerr
			}
			return nil, fmt.Errorf("%w: pacing wait would pass the deadline", context.DeadlineExceeded)
		}
	}
	for {
		p.mu.Lock()
		now := time.Now()
		if err := p.checkReserve(now); err != nil {
			p.mu.Unlock()
			return nil, err
		}
		d, room := p.windowDelay(now)
		if d <= 0 {
			p.take(now, room)
			m := &mark{at: now, inflight: true}
			p.sends = append(p.sends, m)
			p.dailySent++
			p.inflight++
			p.mu.Unlock()
			return m, nil
		}
		p.mu.Unlock()
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			return nil, fmt.Errorf("%w: pacing wait would pass the deadline", context.DeadlineExceeded)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// done records that the send of m has an outcome (a response or an error)
// at now; a zero now means it was not sent and leaves the window at once.
// refused means the provider refused it for its rate limit. m may be nil.
func (p *pacer) done(m *mark, now time.Time, refused bool) {
	if m == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if m.inflight {
		m.inflight = false
		m.at = now
		m.refused = refused
		p.inflight = max(p.inflight-1, 0)
	}
}

// nextWait returns how long a send admitted at now would wait: for room in
// the window, or until the daily budget is renewed when it is down to the
// reserve.
func (p *pacer) nextWait(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if re := p.checkReserve(now); re != nil {
		return re.RetryAfter
	}
	d, _ := p.windowDelay(now)
	return d
}

// Kinds of room a send takes in the window.
const (
	roomAny   = iota // the window is not shared (the zero room)
	roomFreed        // shared: room one of the key's own sends left
	roomNew          // shared: other room, taken one call per Window/free
)

// room is the room a send may take: its kind, and for roomNew the calls
// free in the window.
type room struct {
	kind int
	free int
}

// take records that a send takes r at now.
func (p *pacer) take(now time.Time, r room) {
	switch r.kind {
	case roomFreed:
		p.freed = p.freed[1:]
	case roomNew:
		p.nextClaim = now.Add(p.window / time.Duration(max(r.free, 1)))
	}
}

// windowDelay returns how long a send must wait for room in the window,
// and the room it may take when that is zero (see [pacer] for a shared
// window).
func (p *pacer) windowDelay(now time.Time) (time.Duration, room) {
	// A shared window needs to know at once which sends left it.
	p.prune(now, p.shared)
	if p.window <= 0 {
		return 0, room{}
	}
	extern := 0
	if now.Before(p.externUntil) {
		extern = p.extern
	}
	shared := p.shared
	allow := max(1, p.windowMax-p.windowMax/windowMarginDiv)
	if shared {
		allow = max(1, allow-p.margin(len(p.sends)+extern))
	}
	over := len(p.sends) + extern - allow + 1 // sends that must leave the window first
	if over > 0 {
		p.prune(now, true)
		over = len(p.sends) + extern - allow + 1
	}
	if over <= 0 {
		if !shared {
			return 0, room{}
		}
		if p.reusable(now) {
			return 0, room{kind: roomFreed}
		}
		if !now.Before(p.nextClaim) {
			if !now.Before(p.externUntil) && p.inflight > 0 {
				// The others' calls are no longer known: one send at a
				// time finds out how many there are.
				return max(p.window/time.Duration(p.windowMax), time.Millisecond), room{}
			}
			return 0, room{kind: roomNew, free: 1 - over}
		}
		// Wait for the next claim, or until one of the key's own sends
		// leaves the window.
		d := p.nextClaim.Sub(now)
		for _, m := range p.sends {
			if !m.inflight {
				d = min(d, m.at.Add(p.window+p.slack()).Sub(now))
			}
		}
		return max(d, time.Millisecond), room{}
	}
	leave := make([]time.Time, 0, len(p.sends))
	for _, m := range p.sends {
		if !m.inflight {
			leave = append(leave, m.at.Add(p.window+p.slack()))
		}
	}
	if over > len(leave) {
		if extern > 0 && len(p.sends) < over {
			// Room depends on calls known only by count: wait for the
			// observed window to pass.
			return max(p.externUntil.Sub(now), time.Millisecond), room{}
		}
		// Room depends on sends still in flight: look again after one
		// send's share of the window.
		return max(p.window/time.Duration(p.windowMax), time.Millisecond), room{}
	}
	slices.SortFunc(leave, func(a, b time.Time) int { return a.Compare(b) })
	return max(leave[over-1].Sub(now), time.Millisecond), room{}
}

// checkReserve returns a *ReserveError when the daily budget, less the
// sends made since it was observed, is down to the reserve.
func (p *pacer) checkReserve(now time.Time) *ReserveError {
	l := p.limits
	if !p.known || l.DailyMax <= 0 {
		return nil
	}
	if l.DailyReset.IsZero() {
		if now.Sub(l.Observed) >= dailyStale {
			return nil
		}
	} else if !now.Before(l.DailyReset) {
		return nil
	}
	remaining := l.DailyRemaining - p.dailySent
	if float64(remaining) > p.reserve*float64(l.DailyMax) {
		return nil
	}
	wait := dailyStale
	if !l.DailyReset.IsZero() {
		wait = l.DailyReset.Sub(now)
	}
	l.DailyRemaining = max(remaining, 0)
	return &ReserveError{Limits: l, RetryAfter: wait}
}

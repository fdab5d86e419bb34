package pgstore

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/writebackhq/writeback/store"
)

// Notification payloads on the schema's channel (<schema>_events). They
// are sent with pg_notify inside the transaction that made the change, so
// they are delivered only if it commits, and only after it did.
const (
	payloadDue       = "due"
	payloadCompleted = "completed:"
)

// eventBuffer is the capacity of a subscription's channel.
const eventBuffer = 1024

// Reconnection backoff of a subscription whose connection failed.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// notify sends payload on the Store's channel when tx commits.
func (s *Store) notify(ctx context.Context, tx pgx.Tx, payload string) error {
	_, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", s.channel, payload)
	return wrap(err, "notify")
}

// Subscribe implements [store.Notifier] with LISTEN on a connection of its
// own, opened with the pool's configuration but outside the pool (so the
// pool's lifetime and idle rules never close it). If the connection fails
// it reconnects with backoff and then delivers an [store.EventResync]. It
// fails only if the first connection fails.
func (s *Store) Subscribe(ctx context.Context) (<-chan store.Event, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	conn, err := s.listen(ctx)
	if err != nil {
		return nil, err
	}
	// The subscription ends with ctx or with the Store.
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	ch := make(chan store.Event, eventBuffer)
	s.wg.Go(func() {
		defer cancel()
		defer stop()
		s.listenLoop(ctx, conn, ch)
	})
	return ch, nil
}

// listen opens a connection and listens on the Store's channel.
func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return nil, wrap(err, "subscribe")
	}
	if _, err := conn.Exec(ctx, "LISTEN "+quote(s.channel)); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, wrap(err, "subscribe")
	}
	return conn, nil
}

// listenLoop forwards notifications to ch until ctx ends, then closes ch.
func (s *Store) listenLoop(ctx context.Context, conn *pgx.Conn, ch chan store.Event) {
	defer close(ch)
	// missed records that an event was dropped (or that the connection
	// was lost): a resync is owed before the next event.
	missed := false
	send := func(ev store.Event) {
		if missed {
			select {
			case ch <- store.Event{Kind: store.EventResync}:
				missed = false
			default:
				return
			}
		}
		select {
		case ch <- ev:
		default:
			missed = true
		}
	}
	backoff := minBackoff
	for {
		if conn == nil {
			var err error
			if conn, err = s.listen(ctx); err != nil {
				if !wait(ctx, backoff) {
					return
				}
				backoff = min(2*backoff, maxBackoff)
				continue
			}
			backoff = minBackoff
			missed = false
			send(store.Event{Kind: store.EventResync})
		}
		n, err := conn.WaitForNotification(ctx)
		if ctx.Err() != nil {
			_ = conn.Close(context.WithoutCancel(ctx))
			return
		}
		if err != nil {
			_ = conn.Close(ctx)
			conn, missed = nil, true
			continue
		}
		switch {
		case n.Payload == payloadDue:
			send(store.Event{Kind: store.EventDue})
		case strings.HasPrefix(n.Payload, payloadCompleted):
			send(store.Event{Kind: store.EventCompleted, OperationID: strings.TrimPrefix(n.Payload, payloadCompleted)})
		}
	}
}

// wait waits for d or until ctx ends, and reports whether ctx is still
// live.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/boltstore"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "writeback")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := boltstore.Open(filepath.Join(dir, "writeback.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	// The Writer enqueues async work; here the queue is used directly.
	ctx := context.Background()
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	op := store.Operation{ID: "op-1", InstallationID: "inst-1"}
	job := store.Job{ID: "op-1", InstallationID: "inst-1", Provider: "hubspot", RunAt: now}
	if err := s.Enqueue(ctx, op, job, nil, now); err != nil {
		log.Fatal(err)
	}
	jobs, err := s.Claim(ctx, now, now.Add(time.Minute), 10)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(jobs[0].ID, jobs[0].Attempts, jobs[0].RunAt.Format(time.Kitchen))

	_, err = boltstore.Open(filepath.Join(dir, "writeback.db"), &boltstore.Options{LockTimeout: 50 * time.Millisecond})
	fmt.Println(errors.Is(err, boltstore.ErrLocked))
	// Output:
	// op-1 1 9:01AM
	// true
}

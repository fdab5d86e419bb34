package writeback_test

import (
	"context"
	"fmt"
	"log"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
)

func Example_async() {
	ctx := context.Background()
	fake := providertest.NewFake("hubspot", writeback.Capabilities{})
	// The first call meets a full rate-limit window: the write is retried
	// with backoff (about a second here) until it succeeds or its retry
	// deadline passes.
	limited := true
	fake.FailCalls(func(*writeback.ProviderRequest) error {
		if limited {
			limited = false
			return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassRateLimited,
				StatusCode: 429, Message: "ten secondly rolling limit", RecordIndex: writeback.NoRecord}
		}
		return nil
	})
	w := newExampleWriter(ctx, fake)

	// Accepted once stored durably, even before Start; it runs once the
	// Writer is started.
	target := writeback.Target{Integration: "hubspot-crm", GroupRef: "cust-42", Object: "contacts"}
	res, err := w.Create(ctx, target, writeback.Record{Fields: map[string]any{"email": "ada@example.com"}},
		&writeback.WriteOpts{Mode: writeback.ModeAsync, IdempotencyKey: "signup-ada"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("accepted:", res.Status)

	if err := w.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer func() {
		if err := w.Stop(ctx); err != nil {
			log.Fatal(err)
		}
	}()
	op, err := w.Wait(ctx, res.OperationID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(op.Status, "after", op.Attempts, "attempts:", op.Summary == "created contacts record "+op.SuccessfulRecordIDs[0])
	for _, l := range op.Logs {
		if l.Error != nil {
			fmt.Println(l.Severity, l.Error.Class)
		}
	}

	// The same key again returns the same operation; nothing is written.
	again, err := w.Create(ctx, target, writeback.Record{Fields: map[string]any{"email": "ada@example.com"}},
		&writeback.WriteOpts{Mode: writeback.ModeAsync, IdempotencyKey: "signup-ada"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same operation:", again.OperationID == res.OperationID, "contacts:", fake.Count("contacts"))
	// Output:
	// accepted: in_progress
	// success after 2 attempts: true
	// WARN rate_limited
	// same operation: true contacts: 1
}

package writeback_test

import (
	"context"
	"fmt"
	"log"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
)

func Example_autoBatch() {
	ctx := context.Background()
	fake := providertest.NewFake("hubspot", writeback.Capabilities{})
	w := newExampleWriter(ctx, fake)
	if err := w.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer func() {
		if err := w.Stop(ctx); err != nil {
			log.Fatal(err)
		}
	}()

	// Single async creates that may wait up to a second (the shortest
	// delay) for others of the same installation, object and write type.
	// The group is written when it holds 100 records or when the delay
	// has passed since its first record, whichever comes first.
	target := writeback.Target{Integration: "hubspot-crm", GroupRef: "cust-42", Object: "contacts"}
	opts := &writeback.WriteOpts{
		Mode:      writeback.ModeAsync,
		AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: writeback.MinAutoBatchDelay},
	}
	ids := map[string]bool{}
	for _, email := range []string{"ada@example.com", "grace@example.com", "alan@example.com"} {
		res, err := w.Create(ctx, target, writeback.Record{Fields: map[string]any{"email": email}}, opts)
		if err != nil {
			log.Fatal(err)
		}
		// Stored durably; every record gets the group's master operation.
		ids[res.OperationID] = true
	}
	fmt.Println("master operations:", len(ids))

	for id := range ids {
		op, err := w.Wait(ctx, id)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(op.Status, op.AutoBatch, op.Summary)
		fmt.Println("created:", len(op.SuccessfulRecordIDs))
	}
	fmt.Println("provider calls:", len(fake.Writes()), "records sent:", len(fake.Writes()[0].Records))
	// Output:
	// master operations: 1
	// success true batch write completed (3 succeeded, 0 failed)
	// created: 3
	// provider calls: 1 records sent: 3
}

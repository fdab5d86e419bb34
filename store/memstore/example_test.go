package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/memstore"
)

func ExampleNew() {
	s := memstore.New()
	ctx := context.Background()
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	key := &store.IdempotencyKey{Key: "inst-1/order-42", RequestHash: "h", OperationID: "op-1", ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateOperation(ctx, store.Operation{ID: "op-1", InstallationID: "inst-1"}, key, now); err != nil {
		panic(err)
	}

	// A second use of the key within the hour is refused with the winner.
	retry := &store.IdempotencyKey{Key: "inst-1/order-42", RequestHash: "h", OperationID: "op-2", ExpiresAt: now.Add(time.Hour)}
	err := s.CreateOperation(ctx, store.Operation{ID: "op-2", InstallationID: "inst-1"}, retry, now.Add(time.Minute))
	var exists *store.KeyExistsError
	fmt.Println(errors.As(err, &exists), exists.Existing.OperationID)
	// Output: true op-1
}

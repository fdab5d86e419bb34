package salesforce_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/salesforce"
	"github.com/writebackhq/writeback/providers/salesforce/salesforcetest"
)

// TestCreateCallsBeforeSend checks that a create, single or batch, calls
// BeforeSend once, before Salesforce receives the write, and that a
// refusal sends nothing.
func TestCreateCallsBeforeSend(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcetest.Options{}, salesforce.Config{})
	require.True(t, e.p.Capabilities().BeforeSend)
	writes := func() int { // REST calls, token requests left out
		n := 0
		for _, c := range e.srv.Calls() {
			if strings.HasPrefix(c.Path, "/services/data/") {
				n++
			}
		}
		return n
	}
	person := func(name string) writeback.Record {
		return writeback.Record{Fields: map[string]any{"LastName": name}}
	}
	for _, batch := range []bool{false, true} {
		req := e.write("Contact", writeback.WriteTypeCreate, batch, person("Lovelace"), person("Hopper"))
		if !batch {
			req.Records = req.Records[:1]
		}
		var seen []int // writes Salesforce had received when BeforeSend ran
		req.BeforeSend = func(context.Context) error {
			seen = append(seen, writes())
			return nil
		}
		before := writes()
		_, err := e.p.Write(t.Context(), req)
		require.NoError(t, err)
		require.Equal(t, []int{before}, seen, "batch %v: once, before the request", batch)
		require.Equal(t, before+1, writes())
	}

	refused := errors.New("not now")
	req := e.write("Contact", writeback.WriteTypeCreate, false, person("Turing"))
	req.BeforeSend = func(context.Context) error { return refused }
	before := writes()
	_, err := e.p.Write(t.Context(), req)
	require.ErrorIs(t, err, refused)
	require.Equal(t, before, writes(), "nothing was sent")
}

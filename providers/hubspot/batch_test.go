package hubspot_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
)

// sim starts a simulator and a provider for it.
func sim(t *testing.T, opts hubspottest.Options) (*hubspottest.Server, *hubspot.Provider) {
	t.Helper()
	srv := hubspottest.NewServer(opts)
	t.Cleanup(srv.Close)
	return srv, hubspot.New(hubspot.Config{BaseURL: srv.URL, HTTPClient: srv.Client(), RateLimitWait: 10 * time.Millisecond})
}

func simRequest(typ writeback.WriteType, batch, allOrNone bool, recs ...writeback.Record) *writeback.ProviderRequest {
	req := baseRequest(typ, batch, allOrNone, recs...)
	req.TokenSource = hubspot.StaticToken(hubspottest.DefaultToken)
	return req
}

func contact(i int) writeback.Record {
	return writeback.Record{Fields: map[string]any{"email": fmt.Sprintf("c%d@example.com", i), "firstname": fmt.Sprintf("C%d", i)}}
}

func seedContacts(srv *hubspottest.Server, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = srv.Seed("contacts", map[string]string{"email": fmt.Sprintf("s%d@example.com", i), "firstname": fmt.Sprintf("S%d", i)})
	}
	return ids
}

func TestBatchCreateAllOrNoneOneBadRecord(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{})
	bad := contact(1)
	bad.Fields["shoe_size"] = "42"
	resp, err := p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, true, true, contact(0), bad, contact(2)))
	require.NoError(t, err)
	require.Equal(t, writeback.ClassInvalid, resp.Results[1].Err.Class, "the record with the unknown property is named")
	require.Equal(t, []string{"shoe_size"}, resp.Results[1].Err.Fields)
	require.NotEmpty(t, resp.Results[1].Err.CorrelationID)
	for _, i := range []int{0, 2} {
		require.Equal(t, writeback.ClassRolledBack, resp.Results[i].Err.Class)
		require.Equal(t, i, resp.Results[i].Err.RecordIndex)
	}
	require.Zero(t, srv.Count("contacts"), "nothing stored")
	calls := srv.CallsTo("POST", "/batch/create")
	require.Len(t, calls, 1)
	require.NotContains(t, string(calls[0].Body), "objectWriteTraceId")
}

// TestBatchCreateAllOrNoneConflictNamesItsRecord checks an all-or-nothing
// batch create HubSpot refuses as a whole with 409 CONFLICT, whose body
// names the existing record but not the input: one batch read of that
// record finds the input holding its email, which alone is the conflict,
// with the existing ID; the others are rolled back.
func TestBatchCreateAllOrNoneConflictNamesItsRecord(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{})
	existing := srv.Seed("contacts", map[string]string{"email": "c1@example.com", "firstname": "Someone"})
	resp, err := p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, true, true, contact(0), contact(1), contact(2)))
	require.NoError(t, err)
	conflict := resp.Results[1].Err
	require.NotNil(t, conflict)
	require.Equal(t, writeback.ClassConflict, conflict.Class)
	require.Equal(t, existing, conflict.ExistingID)
	require.Equal(t, 409, conflict.StatusCode)
	require.Equal(t, 1, conflict.RecordIndex)
	for _, i := range []int{0, 2} {
		require.Equal(t, writeback.ClassRolledBack, resp.Results[i].Err.Class, "record %d", i)
		require.Empty(t, resp.Results[i].Err.ExistingID)
	}
	require.Equal(t, 1, srv.Count("contacts"), "nothing stored")
	require.Len(t, resp.Calls, 2, "the batch create, then one read of the existing record")
	require.Equal(t, "/crm/v3/objects/contacts/batch/read", resp.Calls[1].Path)
	read := srv.CallsTo("POST", "/batch/read")
	require.Len(t, read, 1)
	require.Contains(t, string(read[0].Body), `"id":"`+existing+`"`)

	// The same when the collision is in a property only one input shares
	// with the existing record (a custom object's unique property).
	srv, p = sim(t, hubspottest.Options{Objects: []hubspottest.Object{{
		Name: "p_cars", TypeID: "2-12345", Properties: []hubspottest.Property{{Name: "vin", Unique: true}, {Name: "color"}},
	}}})
	car := srv.Seed("p_cars", map[string]string{"vin": "V1", "color": "red"})
	cars := func(vinColor ...string) *writeback.ProviderRequest {
		req := simRequest(writeback.WriteTypeCreate, true, true)
		req.Object = "p_cars"
		for k := 0; k < len(vinColor); k += 2 {
			req.Records = append(req.Records, writeback.Record{Fields: map[string]any{"vin": vinColor[k], "color": vinColor[k+1]}})
		}
		return req
	}
	resp, err = p.Write(t.Context(), cars("V0", "blue", "V1", "green"))
	require.NoError(t, err)
	require.Equal(t, writeback.ClassRolledBack, resp.Results[0].Err.Class)
	require.Equal(t, writeback.ClassConflict, resp.Results[1].Err.Class)
	require.Equal(t, car, resp.Results[1].Err.ExistingID)
}

// TestBatchCreateAllOrNoneConflictCannotTellWhich checks that a whole-batch
// 409 is not pinned on a guess: when more than one input shares values
// with the existing record and the adapter does not know which property
// is unique, every record is reported not written, the error names the
// existing record, and a warning says why.
func TestBatchCreateAllOrNoneConflictCannotTellWhich(t *testing.T) {
	t.Parallel()
	srv := hubspottest.NewServer(hubspottest.Options{Objects: []hubspottest.Object{{
		Name: "p_cars", TypeID: "2-12345", Properties: []hubspottest.Property{{Name: "vin", Unique: true}, {Name: "color"}},
	}}})
	t.Cleanup(srv.Close)
	var logs bytes.Buffer
	p := hubspot.New(hubspot.Config{BaseURL: srv.URL, HTTPClient: srv.Client(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	car := srv.Seed("p_cars", map[string]string{"vin": "V1", "color": "red"})
	req := simRequest(writeback.WriteTypeCreate, true, true,
		writeback.Record{Fields: map[string]any{"vin": "V0", "color": "red"}},
		writeback.Record{Fields: map[string]any{"vin": "V1", "color": "blue"}})
	req.Object = "p_cars"
	resp, err := p.Write(t.Context(), req)
	require.NoError(t, err)
	for i, r := range resp.Results {
		require.Equal(t, writeback.ClassRolledBack, r.Err.Class, "record %d", i)
		require.Equal(t, car, r.Err.ExistingID)
		require.Equal(t, 409, r.Err.StatusCode)
		require.Contains(t, r.Err.Message, "without saying which")
		require.Contains(t, r.Err.Message, "records 0, 1 hold values of record "+car)
	}
	require.Contains(t, logs.String(), "conflict not tied to a record")
	require.Equal(t, 1, srv.Count("p_cars"))
}

// TestBatchCreateConflictEchoedValue checks a 409 whose errors[] names the
// property and echoes the value (HubSpot's newer contact conflict body):
// the input is found from the answer, with no read.
func TestBatchCreateConflictEchoedValue(t *testing.T) {
	t.Parallel()
	r := newRecorder(t, answer{status: 409, body: `{"message":"Contact already exists. Existing ID: 2926551","errors":[{"message":"A contact with email C2@example.com already exists. Existing ID: 2926551","in":"email"}],"status":"error","correlationId":"b688","category":"CONFLICT"}`})
	resp, err := r.provider().Write(t.Context(), baseRequest(writeback.WriteTypeCreate, true, true, contact(0), contact(1), contact(2)))
	require.NoError(t, err)
	require.Equal(t, writeback.ClassConflict, resp.Results[2].Err.Class)
	require.Equal(t, "2926551", resp.Results[2].Err.ExistingID)
	require.Equal(t, "b688", resp.Results[2].Err.CorrelationID)
	require.Equal(t, writeback.ClassRolledBack, resp.Results[0].Err.Class)
	require.Equal(t, writeback.ClassRolledBack, resp.Results[1].Err.Class)
	require.Len(t, r.requests(), 1, "no read")
}

func TestBatchCreatePartialOneBadRecord(t *testing.T) {
	t.Parallel()
	// Results come back out of input order; trace IDs put them right.
	srv, p := sim(t, hubspottest.Options{ShuffleBatchResults: true})
	existing := srv.Seed("contacts", map[string]string{"email": "c3@example.com"})
	bad := contact(1)
	bad.Fields["lifecyclestage"] = "not-a-stage"
	resp, err := p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, true, false, contact(0), bad, contact(2), contact(3)))
	require.NoError(t, err)
	require.Equal(t, writeback.ClassInvalid, resp.Results[1].Err.Class)
	require.Equal(t, []string{"lifecyclestage"}, resp.Results[1].Err.Fields)
	require.Equal(t, writeback.ClassConflict, resp.Results[3].Err.Class)
	require.Equal(t, existing, resp.Results[3].Err.ExistingID)
	for _, i := range []int{0, 2} {
		require.Nil(t, resp.Results[i].Err)
		props, ok := srv.Record("contacts", resp.Results[i].ID)
		require.True(t, ok)
		require.Equal(t, fmt.Sprintf("c%d@example.com", i), props["email"], "result %d is its own record", i)
		require.Equal(t, fmt.Sprintf("c%d@example.com", i), resp.Results[i].Data["email"])
	}
	require.Equal(t, 3, srv.Count("contacts"))
	require.Len(t, srv.Calls(), 1, "one call")
}

func TestBatchUpdatePartialMissingRecord(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{ShuffleBatchResults: true})
	ids := seedContacts(srv, 2)
	resp, err := p.Write(t.Context(), simRequest(writeback.WriteTypeUpdate, true, false,
		writeback.Record{ID: ids[0], Fields: map[string]any{"firstname": "A"}},
		writeback.Record{ID: "424242", Fields: map[string]any{"firstname": "B"}},
		writeback.Record{ID: ids[1], Fields: map[string]any{"firstname": "C"}}))
	require.NoError(t, err)
	require.Equal(t, writeback.ClassNotFound, resp.Results[1].Err.Class)
	require.Equal(t, ids[0], resp.Results[0].ID)
	require.Equal(t, ids[1], resp.Results[2].ID)
	a, _ := srv.Record("contacts", ids[0])
	c, _ := srv.Record("contacts", ids[1])
	require.Equal(t, "A", a["firstname"])
	require.Equal(t, "C", c["firstname"])
}

func TestBatchUpdatePartialIsolatesInvalidRecord(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{})
	ids := seedContacts(srv, 3)
	resp, err := p.Write(t.Context(), simRequest(writeback.WriteTypeUpdate, true, false,
		writeback.Record{ID: ids[0], Fields: map[string]any{"firstname": "A"}},
		writeback.Record{ID: ids[1], Fields: map[string]any{"annualrevenue": "lots"}},
		writeback.Record{ID: ids[2], Fields: map[string]any{"firstname": "C"}}))
	require.NoError(t, err)
	require.Equal(t, writeback.ClassInvalid, resp.Results[1].Err.Class)
	require.Equal(t, []string{"annualrevenue"}, resp.Results[1].Err.Fields)
	require.Nil(t, resp.Results[0].Err)
	require.Nil(t, resp.Results[2].Err)
	a, _ := srv.Record("contacts", ids[0])
	require.Equal(t, "A", a["firstname"])
	require.Len(t, srv.CallsTo("POST", "/batch/update"), 2, "HubSpot refuses the whole batch; the others are sent again once")
}

func TestBatchUpdateAllOrNoneMissingRecordWritesNothing(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{})
	ids := seedContacts(srv, 2)
	resp, err := p.Write(t.Context(), simRequest(writeback.WriteTypeUpdate, true, true,
		writeback.Record{ID: ids[0], Fields: map[string]any{"firstname": "A"}},
		writeback.Record{ID: "424242", Fields: map[string]any{"firstname": "B"}},
		writeback.Record{ID: ids[1], Fields: map[string]any{"firstname": "C"}}))
	require.NoError(t, err)
	require.Equal(t, writeback.ClassNotFound, resp.Results[1].Err.Class)
	require.Equal(t, writeback.ClassRolledBack, resp.Results[0].Err.Class)
	require.Equal(t, writeback.ClassRolledBack, resp.Results[2].Err.Class)
	require.Nil(t, resp.Compensation, "nothing was written, nothing to undo")
	require.Empty(t, srv.CallsTo("POST", "/batch/update"))
	require.Len(t, srv.CallsTo("POST", "/batch/read"), 1)
	a, _ := srv.Record("contacts", ids[0])
	require.Equal(t, "S0", a["firstname"])
}

func TestBatchUpdateAllOrNoneCompensates(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{})
	ids := seedContacts(srv, 3)
	other := srv.Seed("contacts", map[string]string{"email": "taken@example.com"})
	resp, err := p.Write(t.Context(), simRequest(writeback.WriteTypeUpdate, true, true,
		writeback.Record{ID: ids[0], Fields: map[string]any{"firstname": "A", "phone": "555"}},
		writeback.Record{ID: ids[1], Fields: map[string]any{"email": "taken@example.com"}},
		writeback.Record{ID: ids[2], Fields: map[string]any{"firstname": "C"}}))
	require.NoError(t, err)
	require.Equal(t, writeback.ClassConflict, resp.Results[1].Err.Class)
	require.Equal(t, other, resp.Results[1].Err.ExistingID)
	for _, i := range []int{0, 2} {
		require.Equal(t, writeback.ClassRolledBack, resp.Results[i].Err.Class)
		require.Contains(t, resp.Results[i].Err.Message, "restored")
	}
	require.NotNil(t, resp.Compensation)
	require.ElementsMatch(t, []string{ids[0], ids[2]}, resp.Compensation.Restored)
	require.Empty(t, resp.Compensation.Unrestored)
	for i, id := range ids {
		props, _ := srv.Record("contacts", id)
		require.Equal(t, fmt.Sprintf("S%d", i), props["firstname"], "record %d restored", i)
		require.NotContains(t, props, "phone", "a property that was empty is cleared again")
	}
	// read, update, restore.
	calls := srv.Calls()
	require.Len(t, calls, 3)
	require.Contains(t, calls[0].Path, "/batch/read")
	var restore struct {
		Inputs []struct {
			ID         string            `json:"id"`
			Properties map[string]string `json:"properties"`
		} `json:"inputs"`
	}
	require.NoError(t, json.Unmarshal(calls[2].Body, &restore))
	require.Len(t, restore.Inputs, 2)
	require.Equal(t, map[string]string{"firstname": "S0", "phone": ""}, restore.Inputs[0].Properties)
}

func TestBatchUpdateAllOrNoneRestoreFails(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{})
	ids := seedContacts(srv, 2)
	srv.Seed("contacts", map[string]string{"email": "taken@example.com"})
	// The update goes through; the restore (the second batch update) fails
	// on every attempt.
	srv.InjectFault(hubspottest.Fault{Path: "/batch/update", Status: 500, Times: 10, Skip: 1})
	out, err := p.Write(t.Context(), simRequest(writeback.WriteTypeUpdate, true, true,
		writeback.Record{ID: ids[0], Fields: map[string]any{"firstname": "A"}},
		writeback.Record{ID: ids[1], Fields: map[string]any{"email": "taken@example.com"}}))
	require.NoError(t, err)
	require.Equal(t, writeback.ClassConflict, out.Results[1].Err.Class)
	require.Nil(t, out.Results[0].Err, "record 0 keeps the batch's values: it is written, not rolled back")
	require.Equal(t, ids[0], out.Results[0].ID)
	require.NotNil(t, out.Compensation)
	require.Empty(t, out.Compensation.Restored)
	require.Len(t, out.Compensation.Unrestored, 1)
	require.Equal(t, ids[0], out.Compensation.Unrestored[0].ID)
	require.Equal(t, writeback.ClassUnavailable, out.Compensation.Unrestored[0].Err.Class)
	props, _ := srv.Record("contacts", ids[0])
	require.Equal(t, "A", props["firstname"])
}

// TestBatchCreateAllOrNoneResultsOutOfOrder checks that results HubSpot
// returns out of input order still reach the right records.
func TestBatchCreateAllOrNoneResultsOutOfOrder(t *testing.T) {
	t.Parallel()
	srv, p := sim(t, hubspottest.Options{ShuffleBatchResults: true})
	recs := []writeback.Record{contact(0), contact(1), contact(2),
		{Fields: map[string]any{"firstname": "Twin"}}, {Fields: map[string]any{"firstname": "Twin"}}}
	resp, err := p.Write(t.Context(), simRequest(writeback.WriteTypeCreate, true, true, recs...))
	require.NoError(t, err)
	seen := map[string]bool{}
	for i, r := range resp.Results {
		require.Nil(t, r.Err, "record %d", i)
		require.False(t, seen[r.ID], "distinct IDs")
		seen[r.ID] = true
		props, ok := srv.Record("contacts", r.ID)
		require.True(t, ok)
		for k, v := range recs[i].Fields {
			require.Equal(t, v, props[k], "record %d gets its own ID", i)
		}
	}
	calls := srv.CallsTo("POST", "/batch/create")
	require.NotContains(t, string(calls[0].Body), "objectWriteTraceId")
}

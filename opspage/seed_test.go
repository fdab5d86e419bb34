package opspage_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/opspage"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store/memstore"
)

const manifest = `
specVersion: 1.0.0
integrations:
  - name: hubspot-crm
    provider: hubspot
    read:
      objects:
        - objectName: contacts
          optionalFields:
            - mapToName: leadStatus
    write:
      objects:
        - objectName: contacts
          inheritMapping: true
  - name: salesforce-crm
    provider: salesforce
    write:
      objects:
        - objectName: Contact
`

// sim is a fake provider that answers like an adapter: the HTTP calls it
// made (a batch is first answered 429, then sent again after a wait) and
// the provider's answer for each record written.
type sim struct {
	*providertest.Fake
	// base is the API path of its objects.
	base string
	// throttle makes every batch call meet a 429 first.
	throttle bool
}

func (s *sim) Write(ctx context.Context, req *writeback.ProviderRequest) (*writeback.ProviderResponse, error) {
	path := s.base + req.Object
	status := http.StatusCreated
	if req.Type == writeback.WriteTypeUpdate {
		status = http.StatusOK
	}
	if req.Batch {
		path += "/batch/" + string(req.Type)
	} else if req.Type != writeback.WriteTypeCreate {
		path += "/" + req.Records[0].ID
	}
	var calls []writeback.ProviderCall
	if req.Batch && s.throttle {
		calls = append(calls, writeback.ProviderCall{Method: "POST", Path: path, Status: http.StatusTooManyRequests, Duration: 84 * time.Millisecond})
	}
	resp, err := s.Fake.Write(ctx, req)
	if err != nil {
		var perr *writeback.ProviderError
		if errors.As(err, &perr) {
			cp := *perr
			cp.Calls = append(calls, writeback.ProviderCall{Method: "POST", Path: path, Status: perr.StatusCode, Duration: 91 * time.Millisecond})
			return nil, &cp
		}
		return nil, err
	}
	for i, r := range resp.Results {
		if r.Err != nil {
			status = http.StatusMultiStatus
			continue
		}
		resp.Results[i].Data = map[string]any{"id": r.ID, "properties": req.Records[i].Fields}
	}
	var wait time.Duration
	if len(calls) > 0 {
		wait = 1200 * time.Millisecond
	}
	resp.Calls = append(calls, writeback.ProviderCall{Method: "POST", Path: path, Status: status, Wait: wait, Duration: 132 * time.Millisecond})
	return resp, nil
}

// seeded is a Writer's store with operations of every status, and the
// ops page serving it under /writeback/.
type seeded struct {
	w   *writeback.Writer
	st  *memstore.Store
	srv *httptest.Server
	// url is the page's root, ending in a slash.
	url string
	// inst is the HubSpot installation's ID.
	inst string
	// Operation IDs by what they are.
	success, partial, failure, conflict, retrying, inFlight, queued, canceled, group, sfSuccess, sfFailure string
}

// serve mounts the ops page of w under /writeback/ on a loopback server.
func serve(t *testing.T, w *writeback.Writer, opts *opspage.Options) (*httptest.Server, string) {
	t.Helper()
	h, err := opspage.New(w, opts)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/writeback/", http.StripPrefix("/writeback", h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, srv.URL + "/writeback/"
}

// newWriter returns a Writer on st with two fake providers.
func newWriter(t *testing.T, st *memstore.Store, hs, sf writeback.Provider) *writeback.Writer {
	t.Helper()
	m, err := writeback.ParseManifest([]byte(manifest))
	require.NoError(t, err)
	w, err := writeback.NewWriter(&writeback.Config{
		Manifest: m, Providers: []writeback.Provider{hs, sf}, Store: st,
		TokenSourceFunc: providertest.StaticTokens("test-token"),
	})
	require.NoError(t, err)
	return w
}

func contact(email, first string) writeback.Record {
	return writeback.Record{Fields: map[string]any{"email": email, "firstName": first}}
}

// seed makes a store with two installations and operations of every
// status, written through fake providers: sync successes, a partial
// batch, refused writes (invalid, conflict), an async write waiting for
// its retry after a daily rate limit, one in flight, queued ones, a
// canceled one and open auto-batch groups; with the page of opts on it.
func seed(t *testing.T, opts *opspage.Options) *seeded {
	t.Helper()
	ctx := t.Context()
	hubspot := &sim{Fake: providertest.NewFake("hubspot", writeback.Capabilities{}), base: "/crm/v3/objects/", throttle: true}
	salesforce := &sim{Fake: providertest.NewFake("salesforce", writeback.Capabilities{}), base: "/services/data/v62.0/sobjects/"}
	var rateLimited atomic.Bool
	hubspot.FailRecords(func(_ *writeback.ProviderRequest, i int, rec writeback.Record) *writeback.ProviderError {
		switch rec.Fields["email"] {
		case "grace@":
			return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassInvalid, StatusCode: 207, Code: "VALIDATION_ERROR",
				Message: "Property values were not valid", CorrelationID: "3f1c9e2a-77b0-4d1e-9a55-0c2b8f7d6e41", RecordIndex: i,
				FieldErrors: []writeback.FieldError{{ProviderField: "email", Field: "email", Code: "INVALID_EMAIL", Message: "Email address grace@ is invalid"}}}
		case "ada@example.com":
			return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassConflict, StatusCode: 409, Code: "CONFLICT",
				Message: "Contact already exists. Existing ID: 51", CorrelationID: "8a0d5b7e-1c2f-4f39-b6a1-52e9d0c4a7f3", ExistingID: "51", RecordIndex: i}
		}
		return nil
	})
	hubspot.FailCalls(func(req *writeback.ProviderRequest) error {
		if req.Records[0].Fields["email"] == "later@example.com" && !rateLimited.Swap(true) {
			return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassQuota, StatusCode: 429, Code: "DAILY",
				Message: "You have reached your daily limit.", CorrelationID: "c41f0e86-93d2-4b7a-8e1f-2d6a9b3c5e70", RetryAfter: 5 * time.Hour,
				RecordIndex: writeback.NoRecord}
		}
		return nil
	})
	salesforce.FailRecords(func(_ *writeback.ProviderRequest, i int, rec writeback.Record) *writeback.ProviderError {
		if rec.Fields["LastName"] == nil {
			return &writeback.ProviderError{Provider: "salesforce", Class: writeback.ClassInvalid, StatusCode: 400, Code: "REQUIRED_FIELD_MISSING",
				Message: "Required fields are missing: [LastName]", RecordIndex: i, Fields: []string{"LastName"}}
		}
		return nil
	})

	st := memstore.New()
	w := newWriter(t, st, hubspot, salesforce)
	s := &seeded{w: w, st: st}
	lead := "lead"
	inst, err := w.CreateInstallation(ctx, &writeback.Installation{
		Integration: "hubspot-crm", GroupRef: "acme-corp", Connection: writeback.Connection{Provider: "hubspot", ID: "conn-acme-7"},
		Config: writeback.InstallationConfig{
			Read: writeback.ReadConfig{Objects: map[string]writeback.ReadObject{
				"contacts": {ObjectName: "contacts", SelectedFieldMappings: map[string]string{"leadStatus": "hs_lead_status"}},
			}},
			Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
				"contacts": {ObjectName: "contacts", DeletionSettings: &writeback.DeletionSettings{Enabled: true},
					SelectedFieldSettings: map[string]writeback.FieldSetting{
						"stage":      {Default: &writeback.DefaultValue{StringValue: &lead}, WriteOnUpdate: writeback.WriteOnUpdateNever},
						"firstName":  {WriteOnUpdate: writeback.WriteOnUpdateNever},
						"leadStatus": {WriteOnUpdate: writeback.WriteOnUpdateIfEmpty},
					}},
			}},
		},
	})
	require.NoError(t, err)
	s.inst = inst.ID
	_, err = w.CreateInstallation(ctx, &writeback.Installation{
		Integration: "salesforce-crm", GroupRef: "globex", Connection: writeback.Connection{Provider: "salesforce", InstanceURL: "https://globex.my.salesforce.com"},
		Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
			"Contact": {ObjectName: "Contact"},
		}}},
	})
	require.NoError(t, err)

	acme := writeback.Target{Integration: "hubspot-crm", GroupRef: "acme-corp", Object: "contacts"}
	globex := writeback.Target{Integration: "salesforce-crm", GroupRef: "globex", Object: "Contact"}
	asyncOpts := &writeback.WriteOpts{Mode: writeback.ModeAsync, RetryDeadline: 24 * time.Hour}

	res, err := w.Create(ctx, acme, contact("ada@example.org", "Ada"), nil)
	require.NoError(t, err)
	s.success = res.OperationID
	res, err = w.Batch(ctx, acme, writeback.WriteTypeCreate, []writeback.Record{
		contact("alan@example.org", "Alan"), contact("grace@", "Grace"), contact("edsger@example.org", "Edsger"),
	}, &writeback.WriteOpts{BatchPolicy: writeback.BatchPartial})
	require.NoError(t, err)
	s.partial = res.OperationID
	res, err = w.Batch(ctx, acme, writeback.WriteTypeCreate, []writeback.Record{contact("barbara@example.org", "Barbara"), contact("grace@", "Grace")}, nil)
	require.Error(t, err)
	s.failure = res.OperationID
	res, err = w.Create(ctx, acme, contact("ada@example.com", "Ada"), nil)
	require.Error(t, err)
	s.conflict = res.OperationID
	hopper := salesforce.Seed("Contact", map[string]any{"LastName": "Hopper"})
	res, err = w.Update(ctx, globex, writeback.Record{ID: hopper, Fields: map[string]any{"LastName": "Hopper", "Title": "Rear Admiral"}}, nil)
	require.NoError(t, err)
	s.sfSuccess = res.OperationID
	res, err = w.Create(ctx, globex, writeback.Record{Fields: map[string]any{"FirstName": "Linus"}}, nil)
	require.Error(t, err)
	s.sfFailure = res.OperationID

	// Waiting for its retry: a Writer ran its first attempt, which met
	// the daily limit.
	res, err = w.Create(ctx, acme, contact("later@example.com", "Later"), asyncOpts)
	require.NoError(t, err)
	s.retrying = res.OperationID
	require.NoError(t, w.Start(ctx))
	for deadline := time.Now().Add(time.Minute); ; {
		q, err := w.QueueEntry(ctx, s.retrying)
		require.NoError(t, err)
		if q.State == writeback.QueueRetrying {
			break
		}
		require.True(t, time.Now().Before(deadline), "the first attempt never ended")
		time.Sleep(2 * time.Millisecond)
	}
	require.NoError(t, w.Stop(ctx))
	// A stopped Writer accepts no more async writes: the rest goes
	// through a Writer never started, as in an app that is down.
	w = newWriter(t, st, hubspot, salesforce)
	s.w = w

	// In flight: claimed by a Writer still running it (the only job due).
	res, err = w.Create(ctx, acme, contact("busy@example.org", "Busy"), asyncOpts)
	require.NoError(t, err)
	s.inFlight = res.OperationID
	now := time.Now()
	jobs, err := st.Claim(ctx, now, now.Add(4*time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, jobs, 1)

	for i := range 3 {
		res, err = w.Create(ctx, acme, contact(fmt.Sprintf("queued%d@example.org", i), "Queued"), asyncOpts)
		require.NoError(t, err)
		s.queued = res.OperationID
	}
	_, err = w.Create(ctx, globex, writeback.Record{Fields: map[string]any{"LastName": "Torvalds"}}, asyncOpts)
	require.NoError(t, err)
	res, err = w.Create(ctx, acme, contact("canceled@example.org", "Canceled"), asyncOpts)
	require.NoError(t, err)
	s.canceled = res.OperationID
	_, err = w.Cancel(ctx, s.canceled)
	require.NoError(t, err)

	grouped := &writeback.WriteOpts{Mode: writeback.ModeAsync, AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: 10 * time.Minute}}
	for i := range 37 {
		res, err = w.Create(ctx, acme, contact(fmt.Sprintf("signup%02d@example.org", i), "Signup"), grouped)
		require.NoError(t, err)
		s.group = res.OperationID
	}
	for i := range 12 {
		_, err = w.Create(ctx, globex, writeback.Record{Fields: map[string]any{"LastName": fmt.Sprintf("Lead %d", i)}}, grouped)
		require.NoError(t, err)
	}

	s.srv, s.url = serve(t, w, opts)
	return s
}

// hostile is a value that would run a script or add an element if the
// page did not escape it.
const hostile = `<script>alert(1)</script>"><img src=x onerror=alert(1)>`

// hostileSeed is a store whose installation, records and provider errors
// are full of hostile strings: a groupRef, field names, defaults and
// mappings, a record ID and values, a provider message, code, field error
// and correlation ID, and an open group; with the page on it.
type hostileSeed struct {
	w                             *writeback.Writer
	url                           string
	inst, success, failure, group string
}

func seedHostile(t *testing.T, opts *opspage.Options) *hostileSeed {
	t.Helper()
	ctx := t.Context()
	hubspot := &sim{Fake: providertest.NewFake("hubspot", writeback.Capabilities{}), base: "/crm/v3/objects/", throttle: true}
	hubspot.FailRecords(func(_ *writeback.ProviderRequest, i int, rec writeback.Record) *writeback.ProviderError {
		if strings.HasPrefix(fmt.Sprint(rec.Fields["email"]), "bad") {
			return &writeback.ProviderError{Provider: "hubspot", Class: writeback.ClassInvalid, StatusCode: 400, Code: hostile,
				Message: hostile, CorrelationID: hostile, ExistingID: hostile, RecordIndex: i, Fields: []string{hostile},
				FieldErrors: []writeback.FieldError{{ProviderField: hostile, Field: hostile, Code: hostile, Message: hostile}}}
		}
		return nil
	})
	salesforce := &sim{Fake: providertest.NewFake("salesforce", writeback.Capabilities{}), base: "/services/data/v62.0/sobjects/"}
	st := memstore.New()
	w := newWriter(t, st, hubspot, salesforce)
	s := &hostileSeed{w: w}
	def := hostile
	inst, err := w.CreateInstallation(ctx, &writeback.Installation{
		Integration: "hubspot-crm", GroupRef: hostile, Connection: writeback.Connection{Provider: "hubspot", ID: hostile},
		Config: writeback.InstallationConfig{
			Read: writeback.ReadConfig{Objects: map[string]writeback.ReadObject{
				"contacts": {ObjectName: "contacts", SelectedFieldMappings: map[string]string{"leadStatus": hostile}},
			}},
			Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
				"contacts": {ObjectName: "contacts", SelectedFieldSettings: map[string]writeback.FieldSetting{
					hostile: {Default: &writeback.DefaultValue{StringValue: &def}},
				}},
			}},
		},
	})
	require.NoError(t, err)
	s.inst = inst.ID
	target := writeback.Target{Integration: "hubspot-crm", GroupRef: hostile, Object: "contacts"}
	id := hubspot.Seed("contacts", map[string]any{"email": "x@example.org"})
	res, err := w.Update(ctx, target, writeback.Record{ID: id, Fields: map[string]any{"email": "x@example.org", "note": hostile}}, nil)
	require.NoError(t, err)
	s.success = res.OperationID
	res, err = w.Batch(ctx, target, writeback.WriteTypeCreate, []writeback.Record{contact("bad@example.org", hostile), contact("ok@example.org", hostile)}, nil)
	require.Error(t, err)
	s.failure = res.OperationID
	res, err = w.Create(ctx, target, contact("later@example.org", hostile), &writeback.WriteOpts{Mode: writeback.ModeAsync, AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: time.Hour}})
	require.NoError(t, err)
	s.group = res.OperationID
	_, s.url = serve(t, w, opts)
	return s
}

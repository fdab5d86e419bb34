// Command quickstart shows writeback end to end in a few seconds, with no
// setup: a durable store in a temporary directory, a simulated HubSpot
// account on loopback, a manifest whose contacts inherit the read mapping,
// and a customer installation with field rules. It creates, updates,
// batch-creates, previews (dry run) and deletes contacts, then writes in
// the background: an async write it waits for, and 500 auto-batched writes
// next to what they would cost one by one. It prints what happened.
//
//	go run ./examples/quickstart         # the store is removed at the end
//	go run ./examples/quickstart -keep   # the store is kept; it prints the
//	                                     # ops CLI commands to look at it
//
// With HUBSPOT_TOKEN set (a private app token with the
// crm.objects.contacts.read and .write scopes) it writes to that real
// HubSpot account instead, and deletes what it created; HUBSPOT_BASE_URL
// overrides the API host.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
	"github.com/writebackhq/writeback/store/boltstore"
)

func main() {
	keep := flag.Bool("keep", false, "keep the store (a bbolt file) and print the ops CLI commands to look at it")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, os.Getenv, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// manifest is the application's integration: contacts are read with a
// field mapping, and written back through the same mapping.
const manifest = `
specVersion: 1.0.0
integrations:
  - name: hubspot-crm
    provider: hubspot
    read:
      objects:
        - objectName: contacts
          requiredFields:
            - fieldName: email
            - fieldName: firstname
              mapToName: firstName
            - fieldName: lifecyclestage
              mapToName: stage
          optionalFields:
            - mapToName: leadStatus
              mapToDisplayName: Lead status
    write:
      objects:
        - objectName: contacts
          inheritMapping: true
`

// run is the quickstart. getenv reads HUBSPOT_TOKEN and HUBSPOT_BASE_URL;
// keep keeps the store.
func run(ctx context.Context, out io.Writer, getenv func(string) string, keep bool) error {
	dir, err := os.MkdirTemp("", "writeback-quickstart-")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "writeback.db")
	if keep {
		// Printed last, once the store is closed: the CLI can open it.
		defer fmt.Fprintf(out, `
The store is kept at %[1]s
Look at it with the ops CLI (cmd/writeback), from this repository:
  go run ./cmd/writeback --db %[1]s ops list
  go run ./cmd/writeback --db %[1]s ops show ID
  go run ./cmd/writeback --db %[1]s queue
or installed: go install github.com/writebackhq/writeback/cmd/writeback@latest
`, path)
	} else {
		defer os.RemoveAll(dir)
	}
	store, err := boltstore.Open(path, nil)
	if err != nil {
		return err
	}
	defer store.Close()

	// The provider: the simulator, or a real account.
	token := getenv("HUBSPOT_TOKEN")
	suffix := ""
	var provider *hubspot.Provider
	var srv *hubspottest.Server // nil with a real account
	if token == "" {
		srv = hubspottest.NewServer(hubspottest.Options{})
		defer srv.Close()
		token = hubspottest.DefaultToken
		provider = hubspot.New(hubspot.Config{BaseURL: srv.URL, HTTPClient: srv.Client()})
		fmt.Fprintf(out, "HubSpot: simulated account at %s (set HUBSPOT_TOKEN to use a real one)\n", srv.URL)
	} else {
		base := getenv("HUBSPOT_BASE_URL")
		provider = hubspot.New(hubspot.Config{BaseURL: base})
		// Unique emails, so that runs do not collide in a real account.
		suffix = fmt.Sprintf("+%d", time.Now().UnixNano())
		fmt.Fprintf(out, "HubSpot: real account at %s\n", cmp(base, hubspot.DefaultBaseURL))
	}
	fmt.Fprintf(out, "Store:   %s\n\n", path)

	m, err := writeback.ParseManifest([]byte(manifest))
	if err != nil {
		return err
	}
	w, err := writeback.NewWriter(&writeback.Config{
		Manifest:  m,
		Providers: []writeback.Provider{provider},
		Store:     store,
		TokenSourceFunc: func(context.Context, *writeback.Installation) (oauth2.TokenSource, error) {
			return hubspot.StaticToken(token), nil
		},
	})
	if err != nil {
		return err
	}

	// The customer's installation: their lead status field, a default
	// lifecycle stage, and a first name written on create only.
	lead := "lead"
	_, err = w.CreateInstallation(ctx, &writeback.Installation{
		Integration: "hubspot-crm",
		GroupRef:    "customer-42",
		Connection:  writeback.Connection{Provider: hubspot.Name},
		Config: writeback.InstallationConfig{
			Read: writeback.ReadConfig{Objects: map[string]writeback.ReadObject{
				"contacts": {ObjectName: "contacts", SelectedFieldMappings: map[string]string{"leadStatus": "hs_lead_status"}},
			}},
			Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
				"contacts": {
					ObjectName:       "contacts",
					DeletionSettings: &writeback.DeletionSettings{Enabled: true},
					SelectedFieldSettings: map[string]writeback.FieldSetting{
						"stage":     {Default: &writeback.DefaultValue{StringValue: &lead}, WriteOnUpdate: writeback.WriteOnUpdateNever},
						"firstName": {WriteOnUpdate: writeback.WriteOnUpdateNever},
					},
				},
			}},
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "Installation for customer-42:")
	fmt.Fprintln(out, "  leadStatus -> hs_lead_status  (mapped by the customer)")
	fmt.Fprintln(out, "  stage      -> lifecyclestage  (default \"lead\", never overwritten on update)")
	fmt.Fprintln(out, "  firstName  -> firstname       (written on create only)")
	fmt.Fprintln(out)

	target := writeback.Target{Integration: "hubspot-crm", GroupRef: "customer-42", Object: "contacts"}
	email := func(name string) string { return name + suffix + "@example.com" }
	var created []string
	defer func() {
		// In a real account, leave nothing behind.
		if suffix == "" {
			return
		}
		for _, id := range created {
			_, _ = w.Delete(context.WithoutCancel(ctx), target, id, nil)
		}
	}()

	// 1. Create.
	res, err := w.Create(ctx, target, writeback.Record{Fields: map[string]any{
		"email": email("ada"), "firstName": "Ada", "leadStatus": "NEW",
	}}, nil)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	ada := res.Records[0].ID
	created = append(created, ada)
	fmt.Fprintf(out, "1. Create %s\n   created contact %s (%s)\n", email("ada"), ada, res.Status)
	printProps(out, res.Records[0].Data, "email", "firstname", "lifecyclestage", "hs_lead_status")

	// 2. Update: firstName is create-only and stage keeps its value.
	res, err = w.Update(ctx, target, writeback.Record{ID: ada, Fields: map[string]any{
		"firstName": "Augusta", "leadStatus": "OPEN",
	}}, nil)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	fmt.Fprintf(out, "2. Update %s: firstName=Augusta (create-only, so not sent), leadStatus=OPEN\n   %s\n", ada, res.Status)
	printProps(out, res.Records[0].Data, "email", "firstname", "lifecyclestage", "hs_lead_status")

	// 3. A batch of three, all or nothing, in one HubSpot call.
	batch := []writeback.Record{
		{Fields: map[string]any{"email": email("grace"), "firstName": "Grace"}},
		{Fields: map[string]any{"email": email("alan"), "firstName": "Alan", "leadStatus": "IN_PROGRESS"}},
		{Fields: map[string]any{"email": email("edsger"), "firstName": "Edsger", "stage": "customer"}},
	}
	res, err = w.Batch(ctx, target, writeback.WriteTypeCreate, batch, nil)
	if err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	fmt.Fprintf(out, "3. Batch create of %d (all or nothing): %d succeeded, %d failed\n", len(batch), res.SuccessCount(), res.FailureCount())
	for i, r := range res.Records {
		if r.Err != nil {
			fmt.Fprintf(out, "   %s: %v\n", batch[i].Fields["email"], r.Err)
			continue
		}
		created = append(created, r.ID)
		fmt.Fprintf(out, "   %-28s -> contact %s, stage %v\n", batch[i].Fields["email"], r.ID, r.Data["lifecyclestage"])
		fmt.Fprintf(out, "      sent %s\n      HubSpot has %s\n", fields(batch[i].Fields), props(r.Data, "firstname", "lifecyclestage", "hs_lead_status"))
	}

	// 4. Dry run: the exact request an update would send, sending nothing.
	preview := writeback.Record{ID: ada, Fields: map[string]any{"leadStatus": "CONNECTED", "stage": "customer", "firstName": "Ada"}}
	dr, err := w.DryRun(ctx, target, writeback.WriteTypeUpdate, []writeback.Record{preview}, nil)
	if err != nil {
		return fmt.Errorf("dry run: %w", err)
	}
	fmt.Fprintln(out, "4. Dry run of an update (nothing sent):")
	fmt.Fprintf(out, "   input %s\n   the rules keep leadStatus only (stage and firstName are never updated), renamed to hs_lead_status:\n", fields(preview.Fields))
	for _, h := range dr.HTTP {
		fmt.Fprintf(out, "   %s %s\n   %s\n", h.Method, h.URL, h.Body)
	}

	// 5. Delete.
	res, err = w.Delete(ctx, target, ada, nil)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	created = slices.DeleteFunc(created, func(id string) bool { return id == ada })
	fmt.Fprintf(out, "5. Delete contact %s: %s\n", ada, res.Status)

	// Every write is an operation you can look up later.
	op, err := w.Operation(ctx, res.OperationID)
	if err != nil && !errors.Is(err, writeback.ErrNotFound) {
		return err
	}
	if op != nil {
		fmt.Fprintf(out, "   operation %s: %s %s, %s\n", op.ID, op.Type, op.Object, op.Status)
	}

	// 6. Async: acknowledged once stored durably, written by the started
	// Writer, retried until its deadline if the provider is busy.
	if err := w.Start(ctx); err != nil {
		return err
	}
	defer w.Stop(context.WithoutCancel(ctx))
	async := &writeback.WriteOpts{Mode: writeback.ModeAsync}
	res, err = w.Create(ctx, target, writeback.Record{Fields: map[string]any{"email": email("barbara"), "firstName": "Barbara"}}, async)
	if err != nil {
		return fmt.Errorf("async create: %w", err)
	}
	fmt.Fprintf(out, "\n6. Async create %s: accepted as operation %s (%s)\n", email("barbara"), res.OperationID, res.Status)
	op, err = w.Wait(ctx, res.OperationID)
	if err != nil {
		return fmt.Errorf("wait: %w", err)
	}
	if op.Results[0].ID != "" {
		created = append(created, op.Results[0].ID)
	}
	printOperation(out, op, 3)

	// 7. Auto-batching: single writes that may wait a little are grouped
	// into batches of 100, one HubSpot call each. Simulator only: it does
	// not write 500 contacts into a real account.
	if srv == nil {
		return nil
	}
	const n = 500
	before := len(srv.CallsTo("POST", "/crm/v3/objects/contacts"))
	batched := &writeback.WriteOpts{Mode: writeback.ModeAsync, AutoBatch: &writeback.AutoBatchPolicy{MaxDelay: 30 * time.Second}}
	groups := map[string]bool{}
	var first string
	for i := range n {
		res, err := w.Create(ctx, target, writeback.Record{Fields: map[string]any{"email": fmt.Sprintf("reader-%03d@example.com", i)}}, batched)
		if err != nil {
			return fmt.Errorf("auto-batched create: %w", err)
		}
		if !groups[res.OperationID] {
			groups[res.OperationID] = true
			first = cmp(first, res.OperationID)
		}
	}
	written := 0
	for id := range groups {
		op, err := w.Wait(ctx, id)
		if err != nil {
			return fmt.Errorf("wait for group: %w", err)
		}
		written += op.SuccessCount()
	}
	calls := len(srv.CallsTo("POST", "/crm/v3/objects/contacts")) - before
	fmt.Fprintf(out, "\n7. %d auto-batched creates: %d written in %d groups, %d HubSpot calls\n", n, written, len(groups), calls)
	fmt.Fprintf(out, "   one by one: %d calls, and at the account's limit of %d requests per 10 s at least %d s of waiting\n",
		n, hubspottest.DefaultTenSecondLimit, n/hubspottest.DefaultTenSecondLimit*10)

	// 8. One group's operation: a result per record, and its log.
	op, err = w.Operation(ctx, first)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\n8. The first group's operation:")
	printOperation(out, op, 3)
	return nil
}

// printOperation prints an operation's status, its first max record
// results and its log.
func printOperation(out io.Writer, op *writeback.Operation, max int) {
	fmt.Fprintf(out, "   operation %s: %s, %d attempt(s), %d succeeded, %d failed\n", op.ID, op.Status, op.Attempts, op.SuccessCount(), op.FailureCount())
	for i, r := range op.Results {
		if i == max {
			fmt.Fprintf(out, "   ... %d more records\n", len(op.Results)-max)
			break
		}
		if r.Err != nil {
			fmt.Fprintf(out, "   record %d: %v\n", i, r.Err)
			continue
		}
		fmt.Fprintf(out, "   record %d: contact %s\n", i, r.ID)
	}
	for _, l := range op.Logs {
		fmt.Fprintf(out, "   log %s %-5s %s\n", l.Time.UTC().Format("15:04:05.000"), l.Severity, l.Message)
	}
}

// fields prints a record's fields in name order.
func fields(f map[string]any) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(f)) {
		parts = append(parts, fmt.Sprintf("%s=%v", k, f[k]))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// printProps prints some properties of a HubSpot answer.
func printProps(out io.Writer, data map[string]any, names ...string) {
	fmt.Fprintf(out, "   HubSpot now has: %s\n", strings.Trim(props(data, names...), "{}"))
}

// props formats some properties of a HubSpot answer.
func props(data map[string]any, names ...string) string {
	var parts []string
	for _, n := range names {
		if v, ok := data[n]; ok && v != nil && v != "" {
			parts = append(parts, fmt.Sprintf("%s=%v", n, v))
		}
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

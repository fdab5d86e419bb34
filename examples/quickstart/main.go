// Command quickstart shows writeback end to end in a few seconds, with no
// setup: a durable store in a temporary directory, a simulated HubSpot
// account on loopback, a manifest whose contacts inherit the read mapping,
// and a customer installation with field rules. It then creates, updates,
// batch-creates, previews (dry run) and deletes contacts, and prints what
// happened.
//
//	go run ./examples/quickstart
//
// With HUBSPOT_TOKEN set (a private app token with the
// crm.objects.contacts.read and .write scopes) it writes to that real
// HubSpot account instead, and deletes what it created; HUBSPOT_BASE_URL
// overrides the API host.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, os.Getenv); err != nil {
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

// run is the quickstart. getenv reads HUBSPOT_TOKEN and HUBSPOT_BASE_URL.
func run(ctx context.Context, out io.Writer, getenv func(string) string) error {
	dir, err := os.MkdirTemp("", "writeback-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := boltstore.Open(filepath.Join(dir, "writeback.db"), nil)
	if err != nil {
		return err
	}
	defer store.Close()

	// The provider: the simulator, or a real account.
	token := getenv("HUBSPOT_TOKEN")
	suffix := ""
	var provider *hubspot.Provider
	if token == "" {
		srv := hubspottest.NewServer(hubspottest.Options{})
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
	fmt.Fprintf(out, "Store:   %s\n\n", filepath.Join(dir, "writeback.db"))

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
	}

	// 4. Dry run: the exact request an update would send, sending nothing.
	dr, err := w.DryRun(ctx, target, writeback.WriteTypeUpdate, []writeback.Record{
		{ID: ada, Fields: map[string]any{"leadStatus": "CONNECTED", "stage": "customer", "firstName": "Ada"}},
	}, nil)
	if err != nil {
		return fmt.Errorf("dry run: %w", err)
	}
	fmt.Fprintln(out, "4. Dry run of an update (nothing sent):")
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
		fmt.Fprintf(out, "\nOperation %s: %s %s, %s\n", op.ID, op.Type, op.Object, op.Status)
	}
	return nil
}

// printProps prints some properties of a HubSpot answer.
func printProps(out io.Writer, data map[string]any, names ...string) {
	var parts []string
	for _, n := range names {
		if v, ok := data[n]; ok && v != nil && v != "" {
			parts = append(parts, fmt.Sprintf("%s=%v", n, v))
		}
	}
	fmt.Fprintf(out, "   HubSpot now has: %s\n", strings.Join(parts, " "))
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

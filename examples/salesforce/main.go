// Command salesforce is the quickstart's flow against Salesforce: it wires a
// Writer to the Salesforce adapter, installs a write integration for one
// customer, and creates, updates, batches and deletes records, including a
// pass-through header and an all-or-nothing batch that rolls back.
//
// By default it runs against the Salesforce simulator
// (providers/salesforce/salesforcetest). To run it against a real org, set
// SALESFORCE_INSTANCE_URL (e.g. https://mydomain.my.salesforce.com),
// SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET (the connected app's
// consumer key and secret) and SALESFORCE_REFRESH_TOKEN (from the OAuth
// web-server flow); SALESFORCE_TOKEN_URL overrides the token endpoint
// (default {instance}/services/oauth2/token). Against a real org it creates
// and then deletes Contacts and a Lead.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/salesforce"
	"github.com/writebackhq/writeback/providers/salesforce/salesforcetest"
	"github.com/writebackhq/writeback/store/boltstore"
)

// manifest declares one Salesforce write integration for Contacts and Leads.
const manifest = `
specVersion: 1.0.0
integrations:
  - name: salesforce-crm
    provider: salesforce
    write:
      objects:
        - objectName: Contact
        - objectName: Lead
`

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, os.Stdout, os.Getenv); err != nil {
		log.Fatal(err)
	}
}

// org is where the example writes: an instance URL, credentials and an HTTP
// client.
type org struct {
	instanceURL string
	tokens      *salesforce.TokenSource
	client      *http.Client
	simulated   bool
	close       func()
}

// connect returns the real org named by the environment, or a simulated one.
func connect(ctx context.Context, getenv func(string) string) (*org, error) {
	instance := getenv("SALESFORCE_INSTANCE_URL")
	if instance == "" {
		srv := salesforcetest.NewServer(salesforcetest.Options{})
		hc := srv.Client()
		// The app holds the refresh token; the session it got with it is
		// where the token source starts.
		return &org{
			instanceURL: srv.URL,
			tokens:      salesforce.NewTokenSource(hc, srv.OAuthConfig(), srv.Token(), saveToken),
			client:      hc,
			simulated:   true,
			close:       srv.Close,
		}, nil
	}
	cfg := &oauth2.Config{
		ClientID:     getenv("SALESFORCE_CLIENT_ID"),
		ClientSecret: getenv("SALESFORCE_CLIENT_SECRET"),
		Endpoint: oauth2.Endpoint{
			TokenURL:  strings.TrimRight(instance, "/") + "/services/oauth2/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
	if u := getenv("SALESFORCE_TOKEN_URL"); u != "" {
		cfg.Endpoint.TokenURL = u
	}
	refresh := getenv("SALESFORCE_REFRESH_TOKEN")
	if cfg.ClientID == "" || refresh == "" {
		return nil, errors.New("SALESFORCE_INSTANCE_URL is set: SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET and SALESFORCE_REFRESH_TOKEN are needed too")
	}
	return &org{
		instanceURL: instance,
		tokens:      salesforce.NewTokenSource(nil, cfg, &oauth2.Token{RefreshToken: refresh}, saveToken),
		close:       func() {},
	}, nil
}

// saveToken is where an app would store a refreshed token (for example a
// rotated refresh token) in its own secret store. The example keeps nothing.
func saveToken(*oauth2.Token) {}

// run is the example's flow; it prints what happens to out.
func run(ctx context.Context, out io.Writer, getenv func(string) string) error {
	o, err := connect(ctx, getenv)
	if err != nil {
		return err
	}
	defer o.close()

	// 1. The Writer: a manifest, the Salesforce adapter, a store and the
	//    installation's credentials.
	m, err := writeback.ParseManifest([]byte(manifest))
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "writeback-salesforce-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := boltstore.Open(filepath.Join(dir, "writeback.db"), nil)
	if err != nil {
		return err
	}
	defer store.Close()
	sf := salesforce.New(salesforce.Config{HTTPClient: o.client})
	w, err := writeback.NewWriter(&writeback.Config{
		Manifest:  m,
		Providers: []writeback.Provider{sf},
		Store:     store, // operations and installations survive restarts
		TokenSourceFunc: func(context.Context, *writeback.Installation) (oauth2.TokenSource, error) {
			return o.tokens, nil // one customer here; look it up by inst.Connection.ID in an app
		},
	})
	if err != nil {
		return err
	}

	// 2. The customer's installation: their org, the objects they enabled,
	//    deletion for Contacts, and a default lead source that updates
	//    never overwrite.
	source := "Web" // a standard Lead Source value, valid in any org
	inst, err := w.CreateInstallation(ctx, &writeback.Installation{
		Integration: "salesforce-crm",
		GroupRef:    "cust-42",
		Connection:  writeback.Connection{Provider: "salesforce", InstanceURL: o.instanceURL},
		Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
			"Contact": {
				ObjectName:       "Contact",
				DeletionSettings: &writeback.DeletionSettings{Enabled: true},
				SelectedFieldSettings: map[string]writeback.FieldSetting{
					"LeadSource": {Default: &writeback.DefaultValue{StringValue: &source}, WriteOnUpdate: writeback.WriteOnUpdateNever},
					"Title":      {WriteOnUpdate: writeback.WriteOnUpdateIfEmpty},
				},
			},
			"Lead": {ObjectName: "Lead"},
		}}},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "installation for %s on %s\n", inst.GroupRef, describeOrg(o))
	contacts := writeback.Target{Integration: "salesforce-crm", GroupRef: "cust-42", Object: "Contact"}
	leads := writeback.Target{Integration: "salesforce-crm", GroupRef: "cust-42", Object: "Lead"}
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1_000_000)
	var created []string

	// 3. A sync create.
	res, err := w.Create(ctx, contacts, writeback.Record{Fields: map[string]any{
		"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada" + suffix + "@example.com",
	}}, nil)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	ada := res.Records[0].ID
	created = append(created, ada)
	fmt.Fprintf(out, "created Contact %s: %s\n", idShape(ada), res.Status)

	// 4. An update: Title is ifEmpty (written, the record has none);
	//    LeadSource is never written on update.
	res, err = w.Update(ctx, contacts, writeback.Record{ID: ada, Fields: map[string]any{"Title": "Analyst", "LeadSource": "ignored"}}, nil)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	fmt.Fprintf(out, "updated Contact: %s\n", res.Status)
	second := writeback.Record{ID: ada, Fields: map[string]any{"Title": "Countess", "Department": "Mathematics"}}
	dr, err := w.DryRun(ctx, contacts, writeback.WriteTypeUpdate, []writeback.Record{second}, nil)
	if err != nil {
		return fmt.Errorf("dry run: %w", err)
	}
	fmt.Fprintf(out, "dry run of a second update (Title is set, so ifEmpty drops it): %s %s\n", dr.HTTP[0].Method, dr.HTTP[0].Body)
	if res, err = w.Update(ctx, contacts, second, nil); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	fmt.Fprintf(out, "second update: %s\n", res.Status)

	// 5. A pass-through header: no assignment rules for this Lead.
	res, err = w.Create(ctx, leads, writeback.Record{Fields: map[string]any{"LastName": "Hopper", "Company": "Navy " + suffix}},
		&writeback.WriteOpts{Headers: []writeback.Header{{Key: "Sforce-Auto-Assign", Value: "FALSE"}}})
	if err != nil {
		return fmt.Errorf("create lead: %w", err)
	}
	lead := res.Records[0].ID
	fmt.Fprintf(out, "created Lead %s with Sforce-Auto-Assign: FALSE: %s\n", idShape(lead), res.Status)
	cur, err := sf.Read(ctx, &writeback.ReadRequest{
		InstallationID: inst.ID, Connection: inst.Connection, TokenSource: o.tokens,
		Object: "Lead", IDs: []string{lead}, Fields: []string{"OwnerId"},
	})
	if err != nil {
		return fmt.Errorf("read lead: %w", err)
	}
	owner, _ := cur[lead]["OwnerId"].(string)
	fmt.Fprintf(out, "  its owner is a user (005), not an assignment queue (00G): %s\n", idShape(owner))

	// 6. An all-or-nothing batch with one bad record: nothing is written.
	batch := []writeback.Record{
		{Fields: map[string]any{"LastName": "Babbage", "Email": "charles" + suffix + "@example.com"}},
		{Fields: map[string]any{"FirstName": "No last name"}},
		{Fields: map[string]any{"LastName": "Somerville", "Email": "mary" + suffix + "@example.com"}},
	}
	res, err = w.Batch(ctx, contacts, writeback.WriteTypeCreate, batch, nil)
	var perr *writeback.ProviderError
	if !errors.As(err, &perr) {
		return fmt.Errorf("all-or-nothing batch: want a provider error, got %v", err)
	}
	fmt.Fprintf(out, "all-or-nothing batch: %s\n", res.Status)
	for i, r := range res.Records {
		fmt.Fprintf(out, "  record %d: %s %s %v\n", i, r.Err.Class, r.Err.Code, r.Err.Fields)
	}

	// 7. The same batch, partial: the valid records are written.
	res, err = w.Batch(ctx, contacts, writeback.WriteTypeCreate, batch, &writeback.WriteOpts{BatchPolicy: writeback.BatchPartial})
	if err != nil {
		return fmt.Errorf("partial batch: %w", err)
	}
	fmt.Fprintf(out, "partial batch: %d written, %d failed\n", res.SuccessCount(), res.FailureCount())
	for _, r := range res.Records {
		if r.Success() {
			created = append(created, r.ID)
		}
	}

	// 8. Clean up: deletes are single-record and sync.
	for _, id := range created {
		if _, err := w.Delete(ctx, contacts, id, nil); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
	}
	fmt.Fprintf(out, "deleted %d Contacts\n", len(created))
	if !o.simulated {
		// Lead deletion is not enabled in this installation; remove the
		// Lead by hand in a real org.
		fmt.Fprintf(out, "Lead %s left in the org\n", lead)
	}

	if used, limit, ok := sf.APIUsage(inst.ID); ok {
		fmt.Fprintf(out, "org API usage: %d of %d daily calls\n", used, limit)
	}
	return nil
}

// describeOrg names the org without its URL in the simulated case, so the
// output is stable.
func describeOrg(o *org) string {
	if o.simulated {
		return "the simulated org"
	}
	return o.instanceURL
}

// idShape describes a record ID: its key prefix and length.
func idShape(id string) string {
	if len(id) < 3 {
		return "(no id)"
	}
	return fmt.Sprintf("%s… (%d chars)", id[:3], len(id))
}

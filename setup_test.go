package writeback_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/memstore"
)

// testManifest has a HubSpot-like integration whose contacts inherit the
// read mapping, and a Salesforce-like one.
const testManifest = `
specVersion: 1.0.0
integrations:
  - name: crm
    provider: hubspot
    read:
      objects:
        - objectName: contacts
          destination: contactsWebhook
          requiredFields:
            - fieldName: email
          optionalFields:
            - mapToName: customSource
            - mapToName: phone
              fieldName: mobilephone
            - mapToName: region
    write:
      objects:
        - objectName: contacts
          inheritMapping: true
        - objectName: companies
        - objectName: deals
  - name: sf
    provider: salesforce
    write:
      objects:
        - objectName: Contact
`

// testToken is the access token every test Writer's token resolver gives.
const testToken = "test-token"

// bundle is a Writer built by setup and what a test inspects around it.
type bundle struct {
	w     *writeback.Writer
	store store.Interface
	// hub and sf are the default providers; nil when the test brought its
	// own (withProviders).
	hub, sf *providertest.Fake
	// crm and sfi are the installations of the integrations crm and sf,
	// if the Writer has them.
	crm, sfi *writeback.Installation

	mu   sync.Mutex
	done map[string]int                  // OnComplete calls per operation ID
	last map[string]*writeback.Operation // the latest OnComplete per operation ID
}

// writerSpec is what setup builds a Writer from; options change it.
type writerSpec struct {
	manifest      string
	providers     []writeback.Provider
	store         store.Interface
	installations []*writeback.Installation
	now           func() time.Time
	lease         time.Duration
	concurrency   int
	onComplete    func(*writeback.Operation)
	retention     writeback.Retention
	pruneInterval time.Duration
	configure     func(*writeback.Config)
}

// option changes what setup builds.
type option func(*writerSpec)

// withStore builds the Writer on st instead of a new memstore.
func withStore(st store.Interface) option {
	return func(s *writerSpec) { s.store = st }
}

// withProviders replaces the two default fakes.
func withProviders(p ...writeback.Provider) option {
	return func(s *writerSpec) { s.providers = p }
}

// withManifest replaces testManifest.
func withManifest(yaml string) option {
	return func(s *writerSpec) { s.manifest = yaml }
}

// withInstallations replaces the default installations (none: the store's
// own, if any).
func withInstallations(insts ...*writeback.Installation) option {
	return func(s *writerSpec) { s.installations = insts }
}

// withClock sets Config.Test.NowFunc.
func withClock(now func() time.Time) option {
	return func(s *writerSpec) { s.now = now }
}

// withLease sets Config.Test.LeaseDuration: how soon work a crash left
// claimed is due again.
func withLease(d time.Duration) option {
	return func(s *writerSpec) { s.lease = d }
}

// withConcurrency sets Config.MaxConcurrency.
func withConcurrency(n int) option {
	return func(s *writerSpec) { s.concurrency = n }
}

// withOnComplete sets Config.OnComplete (setup still counts completions).
func withOnComplete(f func(*writeback.Operation)) option {
	return func(s *writerSpec) { s.onComplete = f }
}

// withRetention sets Config.Retention.
func withRetention(r writeback.Retention) option {
	return func(s *writerSpec) { s.retention = r }
}

// withPruneInterval sets Config.Test.PruneInterval.
func withPruneInterval(d time.Duration) option {
	return func(s *writerSpec) { s.pruneInterval = d }
}

// withConfig changes the Config last, for settings no other option covers.
func withConfig(f func(*writeback.Config)) option {
	return func(s *writerSpec) { s.configure = f }
}

// asyncContacts is the async tests' world: asyncManifest, the provider p
// and one installation writing contacts (see the target contacts).
func asyncContacts(p writeback.Provider) option {
	return func(s *writerSpec) {
		s.manifest = asyncManifest
		s.providers = []writeback.Provider{p}
		s.installations = []*writeback.Installation{contactsInstallation()}
	}
}

// contactsInstallation is the installation of the target contacts.
func contactsInstallation() *writeback.Installation {
	return &writeback.Installation{
		Integration: contacts.Integration,
		GroupRef:    contacts.GroupRef,
		Connection:  writeback.Connection{Provider: "hubspot"},
		Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
			"contacts": {ObjectName: "contacts"},
		}}},
	}
}

// companiesInstallation is an installation of crm for cust-42 that writes
// only companies.
func companiesInstallation() *writeback.Installation {
	return &writeback.Installation{
		Integration: "crm", GroupRef: "cust-42", Connection: writeback.Connection{Provider: "hubspot"},
		Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
			"companies": {ObjectName: "companies"},
		}}},
	}
}

// setup builds a test's Writer. By default: testManifest, a memstore, two
// Fake providers (HubSpot-like: associations, no headers; Salesforce-like:
// headers, no associations) and one installation of each integration
// (defaultInstallations). Tokens come from providertest.StaticTokens. An
// installation the store already holds for the same integration and
// groupRef is used as it is, so a second Writer on a store sees the first
// one's. The Writer is not started.
func setup(t testing.TB, opts ...option) *bundle {
	t.Helper()
	s := &writerSpec{manifest: testManifest, installations: defaultInstallations()}
	for _, o := range opts {
		o(s)
	}
	b := &bundle{store: s.store, done: map[string]int{}, last: map[string]*writeback.Operation{}}
	if b.store == nil {
		b.store = memstore.New()
	}
	if s.providers == nil {
		b.hub = providertest.NewFake("hubspot", writeback.Capabilities{
			MaxBatchSize: 100, Delete: true, Associations: true, IfEmpty: true,
		})
		b.sf = providertest.NewFake("salesforce", writeback.Capabilities{
			MaxBatchSize: 100, Delete: true, Headers: true, IfEmpty: true, AtomicBatchUpdate: true,
		})
		s.providers = []writeback.Provider{b.hub, b.sf}
	}
	m, err := writeback.ParseManifest([]byte(s.manifest))
	require.NoError(t, err)
	cfg := &writeback.Config{
		Manifest:        m,
		Providers:       s.providers,
		Store:           b.store,
		TokenSourceFunc: providertest.StaticTokens(testToken),
		MaxConcurrency:  s.concurrency,
		OnComplete: func(op *writeback.Operation) {
			b.mu.Lock()
			b.done[op.ID]++
			b.last[op.ID] = op
			b.mu.Unlock()
			if s.onComplete != nil {
				s.onComplete(op)
			}
		},
		Retention: s.retention,
		Test:      writeback.TestConfig{NowFunc: s.now, LeaseDuration: s.lease, PruneInterval: s.pruneInterval},
	}
	if s.configure != nil {
		s.configure(cfg)
	}
	b.w, err = writeback.NewWriter(cfg)
	require.NoError(t, err)

	ctx := t.Context()
	for _, want := range s.installations {
		inst, err := b.w.InstallationByGroup(ctx, want.Integration, want.GroupRef)
		if errors.Is(err, writeback.ErrNotFound) {
			inst, err = b.w.CreateInstallation(ctx, want)
		}
		require.NoError(t, err)
		switch inst.Integration {
		case "crm":
			b.crm = inst
		case "sf":
			b.sfi = inst
		}
	}
	return b
}

// defaultInstallations are setup's installations: crm's contacts with a
// mapped default, a create-only field and an ifEmpty field, and companies;
// sf's Contact.
func defaultInstallations() []*writeback.Installation {
	return []*writeback.Installation{{
		Integration: "crm",
		GroupRef:    "cust-42",
		Connection:  writeback.Connection{Provider: "hubspot"},
		Config: writeback.InstallationConfig{
			Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
				"contacts": {
					ObjectName:       "contacts",
					DeletionSettings: &writeback.DeletionSettings{Enabled: true},
					SelectedFieldSettings: map[string]writeback.FieldSetting{
						"customSource": {
							Default:       &writeback.DefaultValue{StringValue: strp("myApp")},
							WriteOnCreate: writeback.WriteOnCreateAlways,
							WriteOnUpdate: writeback.WriteOnUpdateNever,
						},
						"phone": {WriteOnUpdate: writeback.WriteOnUpdateIfEmpty},
					},
				},
				"companies": {ObjectName: "companies"},
			}},
			Read: writeback.ReadConfig{Objects: map[string]writeback.ReadObject{
				"contacts": {ObjectName: "contacts", SelectedFieldMappings: map[string]string{"customSource": "myCustomSource"}},
			}},
		},
	}, {
		Integration: "sf",
		GroupRef:    "cust-42",
		Connection:  writeback.Connection{Provider: "salesforce", InstanceURL: "https://example.my.salesforce.com"},
		Config: writeback.InstallationConfig{
			Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
				"Contact": {ObjectName: "Contact"},
			}},
		},
	}}
}

// crmTarget and sfTarget name the test installations' objects.
func crmTarget(object string) writeback.Target {
	return writeback.Target{Integration: "crm", GroupRef: "cust-42", Object: object}
}

func sfTarget() writeback.Target {
	return writeback.Target{Integration: "sf", GroupRef: "cust-42", Object: "Contact"}
}

func strp(s string) *string { return &s }

// operations returns every operation recorded for an installation.
func (b *bundle) operations(t *testing.T, inst *writeback.Installation) []*writeback.Operation {
	t.Helper()
	page, err := b.w.Operations(t.Context(), &writeback.OperationListParams{InstallationID: inst.ID, PageSize: writeback.MaxPageSize})
	require.NoError(t, err)
	return page.Operations
}

// completions returns how often OnComplete was called for an operation.
func (b *bundle) completions(id string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.done[id]
}

// stop stops the Writer and checks it stopped cleanly.
func (b *bundle) stop(t testing.TB) {
	t.Helper()
	require.NoError(t, b.w.Stop(context.WithoutCancel(t.Context())))
}

package writeback_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/hubspot"
	"github.com/writebackhq/writeback/providers/hubspot/hubspottest"
	"github.com/writebackhq/writeback/providers/salesforce"
	"github.com/writebackhq/writeback/providers/salesforce/salesforcetest"
	"github.com/writebackhq/writeback/store"
	"github.com/writebackhq/writeback/store/memstore"
)

// simManifest has one integration per simulator.
const simManifest = `
specVersion: 1.0.0
integrations:
  - name: hs
    provider: hubspot
    write:
      objects:
        - objectName: contacts
          upsertKey: email
        - objectName: companies
        - objectName: deals
  - name: sfc
    provider: salesforce
    write:
      objects:
        - objectName: Account
        - objectName: Contact
          upsertKey: Ext_Id__c
`

// simBundle is a Writer whose integrations write through the real
// adapters to the HubSpot and Salesforce simulators on loopback.
type simBundle struct {
	w     *writeback.Writer
	hub   *hubspottest.Server
	sf    *salesforcetest.Server
	store store.Interface
	hs    *writeback.Installation
	sfc   *writeback.Installation
	// hubProvider and sfProvider are the adapters, to wire into another
	// Writer on the same store.
	hubProvider writeback.Provider
	sfProvider  writeback.Provider
	tokens      func(ctx context.Context, inst *writeback.Installation) (oauth2.TokenSource, error)
}

// hsTarget and sfcTarget name the simulators' installations' objects.
func hsTarget(object string) writeback.Target {
	return writeback.Target{Integration: "hs", GroupRef: "cust-1", Object: object}
}

func sfcTarget(object string) writeback.Target {
	return writeback.Target{Integration: "sfc", GroupRef: "cust-1", Object: object}
}

// simSetup builds a simBundle on a memstore. Both installations enable
// every object (and deletes of HubSpot companies); HubSpot contacts have phone under ifEmpty and
// lifecyclestage never written on update, Salesforce Contacts the same
// with MobilePhone and LeadSource.
func simSetup(t *testing.T) *simBundle {
	t.Helper()
	return simSetupOn(t, memstore.New())
}

// simSetupOn is simSetup on a given store.
func simSetupOn(t *testing.T, st store.Interface) *simBundle {
	t.Helper()
	hub := hubspottest.NewServer(hubspottest.Options{Tokens: []string{"test-token"}, TenSecondLimit: -1})
	t.Cleanup(hub.Close)
	sf := salesforcetest.NewServer(salesforcetest.Options{})
	t.Cleanup(sf.Close)
	b := &simBundle{
		hub: hub, sf: sf, store: st,
		hubProvider: hubspot.New(hubspot.Config{BaseURL: hub.URL}),
		sfProvider:  salesforce.New(salesforce.Config{HTTPClient: sf.Client()}),
	}
	sfToken := oauth2.StaticTokenSource(sf.Token())
	b.tokens = func(_ context.Context, inst *writeback.Installation) (oauth2.TokenSource, error) {
		if inst.Integration == "sfc" {
			return sfToken, nil
		}
		return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "test-token"}), nil
	}
	b.w = b.writer(t, b.hubProvider, b.sfProvider)
	ctx := t.Context()
	existing, err := b.w.InstallationByGroup(ctx, "hs", "cust-1")
	if err == nil {
		b.hs = existing
		b.sfc, err = b.w.InstallationByGroup(ctx, "sfc", "cust-1")
		require.NoError(t, err)
		return b
	}
	b.hs, err = b.w.CreateInstallation(ctx, &writeback.Installation{
		Integration: "hs", GroupRef: "cust-1",
		Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
			"contacts": {SelectedFieldSettings: map[string]writeback.FieldSetting{
				"phone":          {WriteOnUpdate: writeback.WriteOnUpdateIfEmpty},
				"lifecyclestage": {WriteOnUpdate: writeback.WriteOnUpdateNever},
			}},
			"companies": {DeletionSettings: &writeback.DeletionSettings{Enabled: true}},
			"deals":     {},
		}}},
	})
	require.NoError(t, err)
	b.sfc, err = b.w.CreateInstallation(ctx, &writeback.Installation{
		Integration: "sfc", GroupRef: "cust-1",
		Connection: writeback.Connection{InstanceURL: sf.URL},
		Config: writeback.InstallationConfig{Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
			"Contact": {SelectedFieldSettings: map[string]writeback.FieldSetting{
				"MobilePhone": {WriteOnUpdate: writeback.WriteOnUpdateIfEmpty},
				"LeadSource":  {WriteOnUpdate: writeback.WriteOnUpdateNever},
			}},
			"Account": {},
		}}},
	})
	require.NoError(t, err)
	return b
}

// writer returns another Writer on the bundle's store with the given
// providers.
func (b *simBundle) writer(t *testing.T, providers ...writeback.Provider) *writeback.Writer {
	t.Helper()
	m, err := writeback.ParseManifest([]byte(simManifest))
	require.NoError(t, err)
	w, err := writeback.NewWriter(&writeback.Config{
		Manifest:        m,
		Providers:       providers,
		Store:           b.store,
		TokenSourceFunc: b.tokens,
	})
	require.NoError(t, err)
	return w
}

// hubCall and sfCall return the body of the last request to a path
// containing path with the given method.
func (b *simBundle) hubBodies(method, path string) []string {
	var out []string
	for _, c := range b.hub.CallsTo(method, path) {
		out = append(out, string(c.Body))
	}
	return out
}

func (b *simBundle) sfBodies(method, path string) []string {
	var out []string
	for _, c := range b.sf.CallsTo(method, path) {
		out = append(out, string(c.Body))
	}
	return out
}

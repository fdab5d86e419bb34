package writeback_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
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

type bundle struct {
	w     *writeback.Writer
	hub   *providertest.Fake
	sf    *providertest.Fake
	store *memstore.Store
	crm   *writeback.Installation
	sfi   *writeback.Installation
}

// crmTarget and sfTarget name the test installations' objects.
func crmTarget(object string) writeback.Target {
	return writeback.Target{Integration: "crm", GroupRef: "cust-42", Object: object}
}

func sfTarget() writeback.Target {
	return writeback.Target{Integration: "sf", GroupRef: "cust-42", Object: "Contact"}
}

func strp(s string) *string { return &s }

// setup builds a Writer on a memstore with two Fake providers (HubSpot-like:
// associations, no headers; Salesforce-like: headers, no associations) and
// one installation of each integration.
func setup(t *testing.T) *bundle {
	t.Helper()
	m, err := writeback.ParseManifest([]byte(testManifest))
	require.NoError(t, err)
	b := &bundle{
		hub: providertest.NewFake("hubspot", writeback.Capabilities{
			MaxBatchSize: 100, Delete: true, Associations: true, IfEmpty: true,
		}),
		sf: providertest.NewFake("salesforce", writeback.Capabilities{
			MaxBatchSize: 100, Delete: true, Headers: true, IfEmpty: true, AtomicBatchUpdate: true,
		}),
		store: memstore.New(),
	}
	b.w, err = writeback.NewWriter(&writeback.Config{
		Manifest:        m,
		Providers:       []writeback.Provider{b.hub, b.sf},
		Store:           b.store,
		TokenSourceFunc: providertest.StaticTokens("test-token"),
	})
	require.NoError(t, err)

	ctx := t.Context()
	b.crm, err = b.w.CreateInstallation(ctx, &writeback.Installation{
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
	})
	require.NoError(t, err)
	b.sfi, err = b.w.CreateInstallation(ctx, &writeback.Installation{
		Integration: "sf",
		GroupRef:    "cust-42",
		Connection:  writeback.Connection{Provider: "salesforce", InstanceURL: "https://example.my.salesforce.com"},
		Config: writeback.InstallationConfig{
			Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
				"Contact": {ObjectName: "Contact"},
			}},
		},
	})
	require.NoError(t, err)
	return b
}

// operations returns every operation recorded for an installation.
func (b *bundle) operations(t *testing.T, inst *writeback.Installation) []*writeback.Operation {
	t.Helper()
	page, err := b.w.Operations(t.Context(), &writeback.OperationListParams{InstallationID: inst.ID, PageSize: writeback.MaxPageSize})
	require.NoError(t, err)
	return page.Operations
}

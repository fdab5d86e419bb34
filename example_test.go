package writeback_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"golang.org/x/oauth2"

	"github.com/writebackhq/writeback"
	"github.com/writebackhq/writeback/providers/providertest"
	"github.com/writebackhq/writeback/store/memstore"
)

// exampleManifest declares a HubSpot integration whose contacts inherit the
// read side's field mapping.
const exampleManifest = `
specVersion: 1.0.0
integrations:
  - name: hubspot-crm
    provider: hubspot
    read:
      objects:
        - objectName: contacts
          requiredFields:
            - fieldName: email
          optionalFields:
            - mapToName: customSource
    write:
      objects:
        - objectName: contacts
          inheritMapping: true
`

// newExampleWriter wires a Writer to an in-memory store and a fake provider
// and installs the integration for customer "cust-42".
func newExampleWriter(ctx context.Context, fake *providertest.Fake) *writeback.Writer {
	m, err := writeback.ParseManifest([]byte(exampleManifest))
	if err != nil {
		log.Fatal(err)
	}
	w, err := writeback.NewWriter(&writeback.Config{
		Manifest:  m,
		Providers: []writeback.Provider{fake},
		Store:     memstore.New(),
		TokenSourceFunc: func(context.Context, *writeback.Installation) (oauth2.TokenSource, error) {
			return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "private-app-token"}), nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	source := "myApp"
	_, err = w.CreateInstallation(ctx, &writeback.Installation{
		Integration: "hubspot-crm",
		GroupRef:    "cust-42",
		Connection:  writeback.Connection{Provider: "hubspot"},
		Config: writeback.InstallationConfig{
			Write: writeback.WriteConfig{Objects: map[string]writeback.WriteObject{
				"contacts": {
					ObjectName: "contacts",
					SelectedFieldSettings: map[string]writeback.FieldSetting{
						"customSource": {
							Default:       &writeback.DefaultValue{StringValue: &source},
							WriteOnUpdate: writeback.WriteOnUpdateNever,
						},
					},
				},
			}},
			Read: writeback.ReadConfig{Objects: map[string]writeback.ReadObject{
				"contacts": {ObjectName: "contacts", SelectedFieldMappings: map[string]string{"customSource": "myCustomSource"}},
			}},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	return w
}

func ExampleWriter_Create() {
	ctx := context.Background()
	fake := providertest.NewFake("hubspot", writeback.Capabilities{})
	w := newExampleWriter(ctx, fake)

	target := writeback.Target{Integration: "hubspot-crm", GroupRef: "cust-42", Object: "contacts"}
	res, err := w.Create(ctx, target, writeback.Record{Fields: map[string]any{"email": "ada@example.com"}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("status:", res.Status)
	fmt.Println("sent:", fake.Writes()[0].Records[0].Fields)
	// Output:
	// status: success
	// sent: map[email:ada@example.com myCustomSource:myApp]
}

func ExampleWriter_DryRun() {
	ctx := context.Background()
	fake := providertest.NewFake("hubspot", writeback.Capabilities{})
	w := newExampleWriter(ctx, fake)

	target := writeback.Target{Integration: "hubspot-crm", GroupRef: "cust-42", Object: "contacts"}
	dr, err := w.DryRun(ctx, target, writeback.WriteTypeUpdate, []writeback.Record{
		{ID: "1001", Fields: map[string]any{"email": "ada@example.org", "customSource": "import"}},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(dr.Request.Type, dr.Request.Object, dr.Request.Records[0].Fields)
	fmt.Println("provider calls:", len(fake.Calls()))
	// Output:
	// update contacts map[email:ada@example.org]
	// provider calls: 0
}

func ExampleValidationError() {
	ctx := context.Background()
	w := newExampleWriter(ctx, providertest.NewFake("hubspot", writeback.Capabilities{}))

	target := writeback.Target{Integration: "hubspot-crm", GroupRef: "cust-42", Object: "contacts"}
	_, err := w.Update(ctx, target, writeback.Record{Fields: map[string]any{"email": "x@example.com"}}, nil)
	var ve *writeback.ValidationError
	if errors.As(err, &ve) {
		fmt.Println("field:", ve.Field)
	}
	fmt.Println(errors.Is(err, writeback.ErrMissingID))
	// Output:
	// field: record.id
	// true
}

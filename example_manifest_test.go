package writeback_test

import (
	"errors"
	"fmt"

	"github.com/writebackhq/writeback"
)

func ExampleParseManifest() {
	m, err := writeback.ParseManifest([]byte(`specVersion: 1.0.0
integrations:
  - name: write-to-salesforce
    provider: salesforce
    read:
      objects:
        - objectName: account
          mapToName: company
          optionalFields:
            - fieldName: phone
              mapToName: phoneNumber
    write:
      objects:
        - objectName: account
          inheritMapping: true
        - objectName: touchpoints__c
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	in, _ := m.Integration("write-to-salesforce")
	for _, o := range in.Write.Objects {
		fmt.Printf("%s writes %s (inheritMapping: %t)\n", in.Name, o.ObjectName, o.InheritMapping)
	}

	// Unknown keys are errors that name the field and the line.
	_, err = writeback.ParseManifest([]byte(`specVersion: 1.0.0
integrations:
  - name: crm
    provider: hubspot
    write:
      objects:
        - objectName: contacts
          inheritMaping: true
`))
	var ve *writeback.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Field, "-", ve.Reason)
	}
	// Output:
	// write-to-salesforce writes account (inheritMapping: true)
	// write-to-salesforce writes touchpoints__c (inheritMapping: false)
	// integrations[0].write.objects[0].inheritMaping - unknown field at line 8
}

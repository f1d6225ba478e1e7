package main

import (
	"flag"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/fixture"
)

// oauthModelFlags name a Django project's own models that stand for
// Django OAuth Toolkit's swappable ones (loaddata, import): one flag a
// model, as OAUTH2_PROVIDER_APPLICATION_MODEL and the like name them.
type oauthModelFlags map[string]*string

func (f *oauthModelFlags) register(fs *flag.FlagSet, detected bool) {
	*f = oauthModelFlags{}
	for _, m := range fixture.OAuthModelSettings {
		usage := fmt.Sprintf("the project's %s (app_label.Model) when it is a model of its own", m.Setting)
		if detected {
			usage += "; default: DOT's, or the one model in the files with its fields when they hold none of DOT's"
		}
		(*f)[m.Model] = fs.String(fixture.OAuthModelFlag(m.Model), "", usage)
	}
}

// models returns the models named, by DOT's label, each checked.
func (f oauthModelFlags) models() (map[string]string, error) {
	given := map[string]string{}
	for dot, name := range f {
		given[dot] = *name
	}
	out, err := fixture.OAuthModelLabels(given)
	if err != nil {
		return nil, usageError{err}
	}
	return out, nil
}

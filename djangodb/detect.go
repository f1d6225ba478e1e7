package djangodb

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse-auth/gatehouse/fixture"
)

// detectOAuthModels finds the project's own models that stand for Django
// OAuth Toolkit's swappable ones (OAUTH2_PROVIDER_APPLICATION_MODEL and
// the like) when o does not name them, as loaddata finds them in a dump:
// for each DOT model whose own table the source lacks, the one model of
// the project (a row of django_content_type, its table app_label_model)
// whose table has every column gatehouse needs of DOT's model. Models
// gatehouse reads as themselves and the user model are not candidates.
// Two candidates for one DOT model are an error that asks for its flag;
// none leaves the pass absent, its note naming the flag. What it finds is
// noted, with the flag that names another model.
func (s *Source) detectOAuthModels(ctx context.Context, o Options) (map[string]string, error) {
	given, err := fixture.OAuthModelLabels(o.OAuthModels)
	if err != nil {
		return nil, fmt.Errorf("djangodb: %w", err)
	}
	var missing []string
	for _, m := range fixture.OAuthModelSettings {
		if given[m.Model] != "" || strings.TrimSpace(o.OAuthModels[m.Model]) != "" {
			continue
		}
		cols, err := s.tableColumns(ctx, dotTables[m.Model][0].name)
		if err != nil {
			return nil, err
		}
		if len(cols) == 0 {
			missing = append(missing, m.Model)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	labels, err := s.contentTypes(ctx)
	if err != nil || len(labels) == 0 {
		return nil, err
	}
	taken := map[string]bool{s.users.model: true}
	for _, label := range given {
		taken[label] = true
	}
	for _, t := range plan {
		taken[t.model] = true
	}
	found := map[string]string{}
	for _, dot := range missing {
		need := []string{}
		for _, c := range dotTables[dot][0].cols {
			if c.required {
				need = append(need, c.col)
			}
		}
		candidates, err := s.withColumns(ctx, labels, taken, append(need, "id"))
		if err != nil {
			return nil, err
		}
		switch len(candidates) {
		case 0:
		case 1:
			found[dot], taken[candidates[0]] = candidates[0], true
			s.notes = append(s.notes, fmt.Sprintf("%s read as %s: its table %s has the columns of Django OAuth Toolkit's model "+
				"(--%s names another)", candidates[0], dot, strings.Replace(candidates[0], ".", "_", 1), fixture.OAuthModelFlag(dot)))
		default:
			return nil, fmt.Errorf("djangodb: %s has several tables with the columns of %s (%s): name the project's model "+
				"(its %s setting) with --%s", s.name, dot, strings.Join(candidates, ", "), settingOf(dot), fixture.OAuthModelFlag(dot))
		}
	}
	return found, nil
}

// detectUserModel finds the project's custom user model when o names none
// and the source has no auth_user table, as loaddata finds it in a dump:
// the one model django_content_type lists, other than those gatehouse
// reads, whose table has AbstractBaseUser's columns (password,
// last_login). Several are an error that asks for --user-model; none
// leaves auth_user, whose absence inspect reports.
func (s *Source) detectUserModel(ctx context.Context, o Options) error {
	if s.users != users {
		return nil
	}
	if cols, err := s.tableColumns(ctx, users.name); err != nil || len(cols) > 0 {
		return err
	}
	labels, err := s.contentTypes(ctx)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, t := range plan {
		known[t.model] = true
	}
	for _, m := range fixture.OAuthModelSettings {
		known[strings.ToLower(strings.TrimSpace(o.OAuthModels[m.Model]))] = true
	}
	// The primary key may have any name (userKeys finds it).
	candidates, err := s.withColumns(ctx, labels, known, []string{"password", "last_login"})
	if err != nil {
		return err
	}
	switch len(candidates) {
	case 0:
		return nil
	case 1:
		if s.users, err = userTable(Options{UserModel: candidates[0]}); err != nil {
			return err
		}
		s.userFound = true
		s.notes = append(s.notes, fmt.Sprintf("%s read as the user model (AUTH_USER_MODEL): its table %s has AbstractBaseUser's "+
			"password and last_login and there is no auth_user (--user-model names another)", candidates[0], s.users.name))
		return nil
	}
	return fmt.Errorf("djangodb: %s has no auth_user table and several tables with AbstractBaseUser's password and last_login (%s): "+
		"name the project's AUTH_USER_MODEL with --user-model app_label.Model", s.name, strings.Join(candidates, ", "))
}

// contentTypes are the models django_content_type lists, as app_label.model
// in lower case and in order; none when the source has no such table. Only
// labels whose table name gatehouse reads are given.
func (s *Source) contentTypes(ctx context.Context) ([]string, error) {
	cols, err := s.tableColumns(ctx, contentTypes.name)
	if err != nil || !cols["app_label"] || !cols["model"] {
		return nil, err
	}
	rows, err := s.query(ctx, contentTypes.name, "SELECT app_label, model FROM django_content_type")
	if err != nil {
		return nil, err
	}
	var labels []string
	for _, r := range rows {
		app, ok1 := toString(r[0])
		model, ok2 := toString(r[1])
		app, model = strings.ToLower(app), strings.ToLower(model)
		if ok1 && ok2 && identifier.MatchString(app+"_"+model) && identifier.MatchString(app) && identifier.MatchString(model) {
			labels = append(labels, app+"."+model)
		}
	}
	sort.Strings(labels)
	return labels, nil
}

// withColumns are the labels, but those skip holds, whose tables
// (app_label_model) have every column of cols.
func (s *Source) withColumns(ctx context.Context, labels []string, skip map[string]bool, cols []string) ([]string, error) {
	var out []string
	for _, label := range labels {
		if skip[label] {
			continue
		}
		have, err := s.tableColumns(ctx, strings.Replace(label, ".", "_", 1))
		if err != nil {
			return nil, err
		}
		if hasAll(have, cols) {
			out = append(out, label)
		}
	}
	return out, nil
}

func hasAll(have map[string]bool, cols []string) bool {
	for _, c := range cols {
		if !have[c] {
			return false
		}
	}
	return len(cols) > 0
}

func settingOf(dot string) string {
	for _, m := range fixture.OAuthModelSettings {
		if m.Model == dot {
			return m.Setting
		}
	}
	return ""
}

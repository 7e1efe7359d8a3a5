package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hardened-runc/hardened-runc/libhardening/apparmor"
	"github.com/hardened-runc/hardened-runc/libhardening/policy"
	"github.com/hardened-runc/hardened-runc/libhardening/spec"
)

func newAppArmorCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "apparmor", Short: "AppArmor profiles: show the profile of a bundle, validate a template"}
	show := &cobra.Command{
		Use:   "show --bundle DIR [--profile NAME]",
		Short: "print the AppArmor profile generated for a bundle's config.json",
		Long: "Print the AppArmor profile generated for the spec in DIR/config.json. After\n" +
			"`hardened-runc create` the bundle holds the hardened spec, so this is the\n" +
			"profile the container runs under.",
		Args: cobra.NoArgs,
		RunE: apparmorShow,
	}
	show.Flags().String("bundle", "", "bundle directory holding config.json")
	show.Flags().String("profile", "", "policy profile (default: the config's default_profile)")
	_ = show.MarkFlagRequired("bundle")
	validate := &cobra.Command{
		Use:   "validate [TEMPLATE]",
		Short: "render a template with representative containers and compile each with apparmor_parser",
		Long: "Render TEMPLATE (a file, or a name in the profiles' apparmor/ directory;\n" +
			"default: the default profile's template) for representative containers and\n" +
			"compile each result with `apparmor_parser -Q -K`, which loads nothing and works\n" +
			"on kernels without AppArmor.",
		Args: cobra.MaximumNArgs(1),
		RunE: apparmorValidate,
	}
	validate.Flags().String("parser", apparmor.DefaultParser, "apparmor_parser to compile with")
	cmd.AddCommand(show, validate)
	return cmd
}

type apparmorShown struct {
	Name     string `json:"name"`
	Profile  string `json:"policyProfile"`
	Template string `json:"template"`
	Text     string `json:"text"`
}

func apparmorShow(cmd *cobra.Command, _ []string) error {
	bundle, _ := cmd.Flags().GetString("bundle")
	name, _ := cmd.Flags().GetString("profile")
	p, err := loadProfileNamed(cmd, name)
	if err != nil {
		return err
	}
	doc, err := spec.Load(bundle)
	if err != nil {
		return err
	}
	s := doc.Spec
	if p.AppArmor.Profile != "" {
		return fmt.Errorf("profile %q names the AppArmor profile %q; nothing is generated", p.Name, p.AppArmor.Profile)
	}
	aaName, text, err := apparmor.Generate(p, s, apparmor.System{})
	if err != nil {
		return err
	}
	out := apparmorShown{Name: aaName, Profile: p.Name, Template: templateName(p), Text: text}
	return emit(cmd, out, func(w io.Writer) error {
		_, err := io.WriteString(w, text)
		return err
	})
}

func loadProfileNamed(cmd *cobra.Command, name string) (*policy.Profile, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	if name == "" {
		name = cfg.DefaultProfile
	}
	return policy.Store{Dir: cfg.ProfilesDir}.Load(name)
}

func templateName(p *policy.Profile) string {
	if p.AppArmor.Template != "" {
		return p.AppArmor.Template
	}
	return apparmor.DefaultTemplate
}

type apparmorCheck struct {
	Sample string `json:"sample"`
	Name   string `json:"name,omitempty"`
	Result string `json:"result"` // ok, failed, rendered (not compiled)
	Error  string `json:"error,omitempty"`
}

type apparmorValidation struct {
	Template string          `json:"template"`
	Skipped  string          `json:"compileSkipped,omitempty"`
	Checks   []apparmorCheck `json:"checks"`
}

func apparmorValidate(cmd *cobra.Command, args []string) error {
	parser, _ := cmd.Flags().GetString("parser")
	t, src, err := loadTemplateArg(cmd, args)
	if err != nil {
		return err
	}
	v := apparmorValidation{Template: src}
	if _, err := exec.LookPath(parser); err != nil {
		v.Skipped = fmt.Sprintf("%s not found (install the apparmor package): profiles were rendered, not compiled", parser)
	}
	failed := 0
	host := apparmor.System{Parser: parser}
	for _, s := range apparmor.Samples() {
		d := s.Data
		d.Tunables, d.Base = host.HasInclude("tunables/global"), host.HasInclude("abstractions/base")
		c := apparmorCheck{Sample: s.Name, Result: "ok"}
		name, text, err := t.Render(d)
		c.Name = name
		switch {
		case err != nil:
			c.Result, c.Error = "failed", err.Error()
		case v.Skipped != "":
			c.Result = "rendered"
		default:
			if err := apparmor.Compile(parser, text); err != nil {
				c.Result, c.Error = "failed", err.Error()
			}
		}
		if c.Result == "failed" {
			failed++
		}
		v.Checks = append(v.Checks, c)
	}
	err = emit(cmd, v, func(w io.Writer) error {
		fmt.Fprintf(w, "template %s\n", v.Template)
		for _, c := range v.Checks {
			fmt.Fprintf(w, "  %-8s %-26s %s\n", c.Result, c.Sample, c.Name)
			if c.Error != "" {
				fmt.Fprintf(w, "           %s\n", c.Error)
			}
		}
		if v.Skipped != "" {
			fmt.Fprintf(w, "compile skipped: %s\n", v.Skipped)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if failed > 0 {
		return withExit(1, fmt.Errorf("template %s: %d of %d sample profiles failed", src, failed, len(v.Checks)))
	}
	return nil
}

// loadTemplateArg reads the template named on the command line: a file
// path, or a name in the profiles' apparmor/ directory (then built in).
func loadTemplateArg(cmd *cobra.Command, args []string) (*apparmor.Template, string, error) {
	if len(args) == 1 && (strings.ContainsRune(args[0], '/') || fileExists(args[0])) {
		b, err := os.ReadFile(args[0])
		if err != nil {
			return nil, "", err
		}
		t, err := apparmor.ParseTemplate(filepath.Base(args[0]), string(b))
		return t, args[0], err
	}
	p, err := loadProfileNamed(cmd, "")
	if err != nil {
		return nil, "", err
	}
	if len(args) == 1 {
		p.AppArmor.Template = args[0]
	}
	t, err := apparmor.LoadTemplate(p)
	if err != nil {
		return nil, "", err
	}
	return t, templateName(p), nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil || !errors.Is(err, os.ErrNotExist)
}

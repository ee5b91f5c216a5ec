# Sourced by the long-running tools scripts: builds the CLI, and runs it from a copy in a temporary folder (removed on
# exit), so that rebuilding the checkout while a run goes on (hours) cannot pull files from under it.
#   . "$(dirname "$0")/build_copy.sh" NAME      then: softprompt ARGS…
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
dotnet build -c Release src/SoftPrompt.Cli -v q -nologo > /dev/null
bin=$(mktemp -d "/tmp/softprompt-$1.XXXXXX")
cp -r src/SoftPrompt.Cli/bin/Release/net10.0/. "$bin"
trap 'rm -rf "$bin"' EXIT
softprompt() { dotnet "$bin/softprompt.dll" "$@"; }

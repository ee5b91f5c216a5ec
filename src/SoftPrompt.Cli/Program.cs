using System.CommandLine;
using SoftPrompt.Cli;

var root = new RootCommand("SoftPrompt: adapt a frozen language model by learning or generating its prompt.");
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(InspectCommand.Create());
root.Subcommands.Add(TokenizeCommand.Create());
return root.Parse(args).Invoke();

using System.CommandLine;

namespace SoftPrompt.Cli;

/// <summary>The <c>softprompt</c> command tree (Program.cs runs it; tests invoke it in-process).</summary>
public static class CliApp
{
    public static RootCommand Create()
    {
        var root = new RootCommand("SoftPrompt: adapt a frozen language model by learning or generating its prompt.");
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(TokenizeCommand.Create());
        root.Subcommands.Add(GenerateCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(AnalyzeCommand.Create());
        root.Subcommands.Add(ExperimentCommand.Create());
        root.Subcommands.Add(MetalCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(QuickstartCommand.Create());
        return root;
    }
}

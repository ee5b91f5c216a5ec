using SoftPrompt.Cli;

return CliApp.Create().Parse(args).Invoke();

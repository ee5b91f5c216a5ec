using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace SoftPrompt.Server.Tests.Browser;

/// <summary>A server and one headless Chromium for the class; each test opens its own browser context (fresh sessionStorage).</summary>
public sealed class WebPageFixture : IAsyncLifetime
{
    internal RunningServer S { get; private set; } = null!;
    internal IPlaywright Playwright { get; private set; } = null!;
    internal IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        S = await RunningServer.Start(TestModels.NewDataDir());
        (Playwright, Browser) = await HeadlessChromium.Launch();
        SetDefaultExpectTimeout(30_000);   // two shared cores: a metal task or a stream can take seconds
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        Playwright?.Dispose();
        if (S is not null) await S.DisposeAsync();
    }
}

public sealed class WebPageTests(WebPageFixture fixture) : IClassFixture<WebPageFixture>
{
    RunningServer S => fixture.S;

    /// <summary>A page in a fresh context that records what would show in its console as an error (CSP violations included).</summary>
    async Task<(IPage Page, List<string> Errors)> Open()
    {
        var context = await fixture.Browser.NewContextAsync(new() { BaseURL = S.Http.BaseAddress!.ToString() });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") errors.Add(m.Text); };
        page.PageError += (_, e) => errors.Add(e);
        await page.GotoAsync("/");
        await Expect(page.Locator("body[data-ready=true]")).ToHaveCountAsync(1);
        return (page, errors);
    }

    static async Task SignIn(IPage page, string key)
    {
        await page.FillAsync("#key", key);
        await page.ClickAsync("#signin");
    }

    [Fact]
    public async Task The_page_is_served_from_memory_with_a_strict_content_security_policy_and_never_writes_HTML()
    {
        var page = await S.Http.GetAsync("/");
        Assert.Equal(200, (int)page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        string csp = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", csp);
        Assert.Contains("default-src 'none'", csp);
        Assert.DoesNotContain("unsafe", csp);
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        string html = await page.Content.ReadAsStringAsync();
        Assert.DoesNotMatch(new Regex(@"<script(?![^>]*\bsrc=)", RegexOptions.IgnoreCase), html);   // no inline script
        Assert.DoesNotMatch(new Regex(@"\son[a-z]+\s*=", RegexOptions.IgnoreCase), html);          // no inline handlers

        var script = await S.Http.GetAsync("/web/app.js");
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        string js = await script.Content.ReadAsStringAsync();
        foreach (var sink in new[] { "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function" })
            Assert.DoesNotContain(sink, js);
        Assert.Equal("text/css", (await S.Http.GetAsync("/web/app.css")).Content.Headers.ContentType?.MediaType);

        var again = new HttpRequestMessage(HttpMethod.Get, "/web/app.js");
        again.Headers.IfNoneMatch.Add(script.Headers.ETag!);
        Assert.Equal(304, (int)(await S.Http.SendAsync(again)).StatusCode);
    }

    [Fact]
    public async Task In_Chromium_one_signs_in_makes_a_task_from_pasted_examples_sees_its_prompt_and_streams_a_completion()
    {
        var (page, errors) = await Open();
        await SignIn(page, S.AdminKey);
        await Expect(page.Locator("#app")).ToBeVisibleAsync();
        await Expect(page.Locator("#model-name")).ToHaveTextAsync("model: gpt2-random");

        // A name with markup must show as the characters typed, never as an element.
        const string name = "reverse <b>two</b> & <img src=x>";
        await page.FillAsync("#task-name", name);
        await page.FillAsync("#examples", "ab\tba\ncd\tdc\n\n{\"input\": \"xy\", \"output\": \"yx\"}\n");
        await page.ClickAsync("#create");
        await Expect(page.Locator("#detail-name")).ToHaveTextAsync(name);
        Assert.Equal(0, await page.Locator("#detail-name b, #tasks b, img").CountAsync());
        string id = (await page.Locator("#detail-section").GetAttributeAsync("data-id"))!;
        Assert.Matches("^task-[0-9a-f]{16}$", id);

        var row = page.Locator($"#tasks tr[data-id='{id}']");
        await Expect(row).ToContainTextAsync(name);
        await Expect(row).ToContainTextAsync("ready");
        await Expect(row).ToContainTextAsync("metal");

        // The prompt: the PGM's 2 soft tokens, each with its 5 nearest vocabulary tokens as the API gives them.
        var task = (await S.Send(HttpMethod.Get, $"/v1/tasks/{id}", S.AdminKey)).Body!;
        Assert.Equal(3, (int)task["prompt"]!["prompt_demonstrations"]!);   // the JSON line and the TAB lines were all read, the blank line skipped
        var nearest = task["prompt"]!["nearest_tokens"]!.AsArray();
        await Expect(page.Locator("#nearest")).ToBeVisibleAsync();
        await Expect(page.Locator("#nearest tbody tr")).ToHaveCountAsync(nearest.Count);
        for (int i = 0; i < nearest.Count; i++)
        {
            var shown = await page.Locator("#nearest tbody tr").Nth(i).Locator("code.token").AllTextContentsAsync();
            Assert.Equal(nearest[i]!.AsArray().Select(t => System.Text.Json.JsonSerializer.Serialize((string)t!["token"]!)), shown);
        }
        await Expect(page.Locator("#prompt-kind")).ToContainTextAsync("soft prompt");
        await Expect(page.Locator("#prompt-fields")).ToContainTextAsync("passes");
        await Expect(page.Locator("#job")).ToBeHiddenAsync();    // a ready metal task has no job
        Assert.Equal(0, await page.Locator("#curve svg").CountAsync());

        // The playground streams the task's completion: the same text as the API's one answer, in several chunks.
        await page.ClickAsync("#use-task");
        Assert.Equal(id, await page.InputValueAsync("#play-model"));
        await page.FillAsync("#play-prompt", "pq");
        await page.FillAsync("#play-max", "8");
        await page.FillAsync("#play-temperature", "0");
        await page.ClickAsync("#play-run");
        await Expect(page.Locator("#play-output[data-state=done]")).ToHaveCountAsync(1);
        var whole = (await S.Send(HttpMethod.Post, "/v1/completions", S.AdminKey, new { model = id, prompt = "pq", max_tokens = 8, temperature = 0 })).Body!;
        string expected = (string)whole["choices"]![0]!["text"]!;
        Assert.False(string.IsNullOrEmpty(expected));
        Assert.Equal(expected, await page.Locator("#play-output").TextContentAsync());
        string info = (await page.Locator("#play-info").TextContentAsync())!;
        var chunks = int.Parse(Regex.Match(info, @"(\d+) chunks").Groups[1].Value);
        Assert.True(chunks >= 2, info);
        Assert.Contains($"finish_reason: {(string)whole["choices"]![0]!["finish_reason"]!}", info);

        // The key lives in sessionStorage: a reload stays signed in and lists the task.
        await page.ReloadAsync();
        await Expect(page.Locator($"#tasks tr[data-id='{id}']")).ToBeVisibleAsync();
        await page.ClickAsync("#signout");
        await Expect(page.Locator("#app")).ToBeHiddenAsync();
        Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('softprompt.key')"));
        Assert.True(errors.Count == 0, "the browser console showed errors:\n" + string.Join("\n", errors));
    }

    [Fact]
    public async Task In_Chromium_a_wrong_key_bad_examples_and_a_bad_completion_show_the_API_s_problem_details()
    {
        var (page, _) = await Open();
        await SignIn(page, "sp-not-a-key");
        await Expect(page.Locator("#status")).ToHaveTextAsync("the API key is not valid.");
        await Expect(page.Locator("#app")).ToBeHiddenAsync();

        await SignIn(page, S.AdminKey);
        await Expect(page.Locator("#app")).ToBeVisibleAsync();
        await Expect(page.Locator("#status")).ToBeHiddenAsync();

        // The API refuses an empty output: its detail and field are shown.
        await page.FillAsync("#task-name", "broken");
        await page.FillAsync("#examples", "ab\tba\ncd\t");
        await page.ClickAsync("#create");
        await Expect(page.Locator("#create-error")).ToContainTextAsync("examples[1].output: must not be empty.");
        await Expect(page.Locator("#create-error .field")).ToHaveTextAsync("field: examples[1].output");
        // A line the page cannot read is named before anything is sent.
        await page.FillAsync("#examples", "ab\tba\njust text");
        await page.ClickAsync("#create");
        await Expect(page.Locator("#create-error")).ToContainTextAsync("line 2: no TAB between input and output.");
        Assert.DoesNotContain((await S.Send(HttpMethod.Get, "/v1/tasks", S.AdminKey)).Body!["data"]!.AsArray(), t => (string)t!["name"]! == "broken");

        // The playground shows a refused completion's problem details too.
        await page.FillAsync("#play-prompt", "hello");
        await page.FillAsync("#play-max", "100000");
        await page.ClickAsync("#play-run");
        await Expect(page.Locator("#play-error .field")).ToHaveTextAsync("field: max_tokens");
        await Expect(page.Locator("#play-output[data-state=error]")).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task In_Chromium_an_uploaded_adapter_becomes_a_task_and_a_bad_archive_shows_the_entry_at_fault()
    {
        var (page, errors) = await Open();
        await SignIn(page, S.AdminKey);
        await Expect(page.Locator("#app")).ToBeVisibleAsync();

        await page.FillAsync("#upload-name", "bad archive");
        await page.SetInputFilesAsync("#upload-file", new FilePayload { Name = "adapter.zip", MimeType = "application/zip", Buffer = "not a zip"u8.ToArray() });
        await page.ClickAsync("#upload");
        await Expect(page.Locator("#upload-error")).ToContainTextAsync("not a .zip or .tar.gz archive");
        await Expect(page.Locator("#upload-error .field")).ToHaveTextAsync("field: file");

        var zip = AdapterUploadTests.Zip(AdapterUploadTests.AdapterFiles("prompt", seed: 9));
        await page.FillAsync("#upload-name", "from elsewhere");
        await page.SetInputFilesAsync("#upload-file", new FilePayload { Name = "adapter.zip", MimeType = "application/zip", Buffer = zip });
        await page.ClickAsync("#upload");
        await Expect(page.Locator("#detail-name")).ToHaveTextAsync("from elsewhere");
        await Expect(page.Locator("#upload-error")).ToBeHiddenAsync();
        await Expect(page.Locator("#detail-fields")).ToContainTextAsync("prompt");
        await Expect(page.Locator("#nearest tbody tr")).ToHaveCountAsync(3);   // the adapter's 3 virtual tokens
        string id = (await page.Locator("#detail-section").GetAttributeAsync("data-id"))!;
        await Expect(page.Locator($"#tasks tr[data-id='{id}']")).ToContainTextAsync("ready");
        Assert.Contains(id, await page.Locator("#play-model option").EvaluateAllAsync<string[]>("os => os.map(o => o.value)"));
        // The failed upload's 400 is the only console error (Chromium logs every failed request).
        Assert.True(errors.All(e => e.Contains("400")), string.Join("\n", errors));
    }

    [Fact]
    public async Task In_Chromium_a_task_trained_as_a_job_shows_its_progress_then_its_curve_and_nearest_tokens()
    {
        var created = (await S.Send(HttpMethod.Post, "/v1/tasks", S.AdminKey, new
        {
            name = "tuned in a job", method = "prompt", steps = 400, num_virtual_tokens = 2,
            examples = new[] { new { input = "ab", output = "ba" }, new { input = "cd", output = "dc" } },
        })).Body!;
        string id = (string)created["id"]!;
        var (page, errors) = await Open();
        await SignIn(page, S.AdminKey);
        await page.ClickAsync($"#tasks tr[data-id='{id}']");
        await Expect(page.Locator("#detail-name")).ToHaveTextAsync("tuned in a job");
        // While it trains the page reads it again every 2 s; at the end the state is ready and the curve is drawn.
        await Expect(page.Locator("#detail-fields")).ToContainTextAsync("ready", new() { Timeout = 120_000 });
        var points = (await page.Locator("#curve svg polyline").GetAttributeAsync("points"))!.Split(' ');
        Assert.Equal(200, points.Length);   // 400 steps, thinned to 200 points
        await Expect(page.Locator("#nearest")).ToBeVisibleAsync();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task In_Chromium_a_task_with_a_discrete_prompt_a_job_and_a_curve_renders_them()
    {
        // The test server's PGM makes no discrete prompt and its jobs do not fail: render() is given such a task directly.
        var (page, errors) = await Open();
        await SignIn(page, S.AdminKey);
        await Expect(page.Locator("#app")).ToBeVisibleAsync();
        var task = new JsonObject
        {
            ["id"] = "task-0000000000000001", ["object"] = "task", ["name"] = "job <i>", ["method"] = "prompt", ["design"] = "", ["state"] = "training",
            ["created"] = 1_800_000_000, ["progress"] = 0.25,
            ["metrics"] = new JsonObject { ["curve"] = new JsonArray(new JsonArray(0, 3.0), new JsonArray(10, 2.0), new JsonArray(20, 1.5)) },
            ["prompt"] = new JsonObject { ["text"] = "Reverse <the> letters:", ["length"] = 4 },
        };
        await page.EvaluateAsync("t => window.softprompt.render(JSON.parse(t), false)", task.ToJsonString());
        await Expect(page.Locator("#detail-name")).ToHaveTextAsync("job <i>");
        await Expect(page.Locator("#job")).ToBeVisibleAsync();
        await Expect(page.Locator("#job-state")).ToHaveTextAsync("training: 25%");
        Assert.Equal("0.25", await page.Locator("#job-progress").EvaluateAsync<string>("p => String(p.value)"));
        var points = (await page.Locator("#curve svg polyline").GetAttributeAsync("points"))!.Split(' ');
        Assert.Equal(3, points.Length);
        await Expect(page.Locator("#prompt-text")).ToHaveTextAsync("Reverse <the> letters:");
        await Expect(page.Locator("#prompt-kind")).ToContainTextAsync("discrete prompt");
        await Expect(page.Locator("#nearest")).ToBeHiddenAsync();

        task["state"] = "failed";
        task["error"] = new JsonObject { ["message"] = "the loss became NaN <at> step 20" };
        task.Remove("progress");
        task.Remove("metrics");
        await page.EvaluateAsync("t => window.softprompt.render(JSON.parse(t), false)", task.ToJsonString());
        await Expect(page.Locator("#job-state")).ToHaveTextAsync("failed — the loss became NaN <at> step 20");
        await Expect(page.Locator("#job-progress")).ToBeHiddenAsync();
        Assert.Equal(0, await page.Locator("#curve svg").CountAsync());   // no curve: nothing drawn, no error
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }
}

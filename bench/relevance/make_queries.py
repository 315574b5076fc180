#!/usr/bin/env python3
"""Writes queries/<corpus>.json from the hand-written lists below (kept here so the judgements
are reviewable as one list per corpus). The split is fixed by position: even → tune, odd → report,
decided before any result was looked at. Run once; the JSON files are what the benchmark reads."""
import json, pathlib

G = "io.github."
MCP = [
 ("turn files of any kind into lightweight markup", ["zcaceres/mcp-markdownify-server", "vivekvells/mcp-pandoc"]),
 ("let the assistant chat with my contacts on the Meta-owned messenger with the green logo", ["lharries/whatsapp-mcp"]),
 ("publish short messages and look up what people say on the microblogging network", ["enescinr/twitter-mcp", "vidhupv/x-mcp"]),
 ("find out who registered a website address", ["bharathvaj-ganesan/whois-mcp"]),
 ("will it rain tomorrow in Berlin, and how warm will it be", ["mschneider82/mcp-openweather", "isdaniel/mcp_weather_server"]),
 ("play songs and build playlists on my music streaming account", ["varunneal/spotify-mcp"]),
 ("see where airplanes are in the sky right now", ["sunsetcoder/flightradar24-mcp-server"]),
 ("keep a checklist of chores with deadlines", ["abhiz123/todoist-mcp-server", "alexarevalo9/ticktick-mcp-server", "zcaceres/gtasks-mcp", "taazkareem/clickup-mcp-server"]),
 ("safely evaluate untrusted scripts somewhere they cannot harm my machine", ["e2b-dev/mcp-server", "automata-labs-team/code-sandbox-mcp", "jamsocket/forevervm", "bazinga012/mcp_code_executor", "riza-io/riza-mcp"]),
 ("store and traverse nodes and relationships with Cypher", ["neo4j-contrib/mcp-neo4j", "da-okazaki/mcp-neo4j-server", "memgraph/mcp-memgraph"]),
 ("find peer-reviewed publications on a topic", ["adityak74/mcp-scholarly", "szeider/mcp-dblp"]),
 ("draw an illustration from my written description", ["gongrzhe/image-generation-mcp-server"]),
 ("grab a picture of how a rendered page looks", ["screenshotone/mcp"]),
 ("ping my mobile with an alert when the job finishes", ["gitmotion/ntfy-me-mcp", "ashiknesin/pushover-mcp", "teddyzxcv/ntfy-mcp"]),
 ("list, start and stop containers on my laptop", ["ckreiling/mcp-server-docker"]),
 ("administer pods and deployments of my container orchestrator", ["flux159/mcp-server-kubernetes", "manusa/kubernetes-mcp-server", "razvanmacovei/k8s-multicluster-mcp", "yanmxa/multicluster-mcp-server", "strowk/mcp-k8s-go"]),
 ("fill in rows and columns of an online workbook", ["xing5/mcp-google-sheets", "rohans2/mcp-google-sheets", "haris-musa/excel-mcp-server"]),
 ("go through my mail and draft responses", ["gongrzhe/gmail-mcp-server", "baryhuang/mcp-headless-gmail", "zilongxue/claude-post", "shy2593666979/mcp-server-email", "elie222/inbox-zero"]),
 ("add an appointment to my schedule", ["v-3/google-calendar", "nspady/google-calendar-mcp", "omar-v2/mcp-ical"]),
 ("look at CPU usage time series from my alerting stack", ["pab1it0/prometheus-mcp-server"]),
 ("plot a bar diagram from this data", ["gongrzhe/quickchart-mcp-server", "isaacwasserman/mcp-vegalite-server"]),
 ("drive a headless page like a human: click buttons and fill forms", ["executeautomation/mcp-playwright", "browserbase/mcp-server-browserbase", "co-browser/browser-use-mcp-server", "hyperbrowserai/mcp", "djannot/puppeteer-vision-mcp"]),
 ("harvest everything written on many pages of a site", ["mendableai/firecrawl-mcp-server", "vrknetha/mcp-server-firecrawl", "cyberchitta/scrapling-fetch-mcp", "tinyfish-io/agentql-mcp", "oxylabs/oxylabs-mcp", "apify/mcp-server-rag-web-browser", "zcaceres/fetch-mcp"]),
 ("share prices and balance sheets of listed companies", ["financial-datasets/mcp-server", "calvernaz/alphavantage", "octagonai/octagon-mcp-server", "stefanoamorelli/nasdaq-data-link-mcp", "morningstar/morningstar-mcp-server", "stefanoamorelli/sec-edgar-mcp"]),
 ("newest headlines about bitcoin and other digital coins", ["kukapay/cryptopanic-mcp-server"]),
 ("exchange one coin for another on an on-chain venue", ["kukapay/uniswap-trader-mcp", "kukapay/jupiter-mcp"]),
 ("file a bug ticket in our tracker and assign it to a teammate", ["tacticlaunch/mcp-linear", "jerhadf/linear-mcp-server", "geropl/linear-mcp-go", "sooperset/mcp-atlassian", "kelvin6365/plane-mcp-server", "taazkareem/clickup-mcp-server"]),
 ("turn off the living room lights and set the thermostat", ["tevonsb/homeassistant-mcp", "voska/hass-mcp"]),
 ("make beats and arrange tracks in my DAW", ["simon-kansara/ableton-live-mcp-server", "ahujasid/ableton-mcp", "dschuler36/reaper-mcp-server"]),
 ("keep embeddings and find the nearest ones", ["chroma-core/chroma-mcp", "privetin/chroma", "qdrant/mcp-server-qdrant", "pinecone-io/pinecone-mcp", "sirmews/mcp-pinecone", "zilliztech/mcp-server-milvus", "vectorize-io/vectorize-mcp-server"]),
 ("branch and query my serverless Postgres", ["neondatabase/mcp-server-neon"]),
 ("look things up in my personal collection of linked notes", ["calclavia/mcp-obsidian", "stevenstavrakis/obsidian-mcp", "basicmachines-co/basic-memory"]),
 ("let my helper retain facts about me between sessions", ["mem0ai/mem0-mcp", "topoteretes/cognee", "unibaseio/membase-mcp", "basicmachines-co/basic-memory", "skydeckai/mcp-server-rememberizer"]),
 ("send digital dollars on Base without paying fees", ["magnetai/mcp-free-usdc-transfer"]),
 ("find details about movies and their cast", ["laksh-star/mcp-server-tmdb"]),
 ("scores of today's matches in European leagues", ["yeonupark/mcp-soccer-data"]),
 ("basketball player statistics for this season", ["taidgh-robinson/nba-mcp-server"]),
 ("find exploitable bugs in my source before shipping", ["semgrep/mcp", "snyk/snyk-ls", "codacy/codacy-mcp-server"]),
 ("check why my CI job went red", ["circleci-public/mcp-server-circleci", "bitrise-io/bitrise-mcp", "ko1ynnky/github-actions-mcp-server"]),
 ("catch up on channels of our workplace chat", ["korotovsky/slack-mcp-server", "inditextech/mcp-teams-server"]),
 ("when does the next rail connection leave Amsterdam for Utrecht", ["r-huijts/ns-mcp-server"]),
 ("put my app's interface strings into other languages", ["lingodotdev/lingo.dev", "translated/lara-mcp"]),
 ("suggest which tool plug-in suits a job and set it up for me", ["liuyoshio/mcp-compass", "anaisbetts/mcp-installer", "pathintegral-institute/mcpm.sh"]),
 ("model a 3D scene with meshes, lights and materials", ["ahujasid/blender-mcp"]),
]
A2A = [
 ("reserve a seat on a plane from Paris to Rome", ["a2a-samples/a2a_mcp__air_ticketing_agent"]),
 ("hire a vehicle when I land in Madrid", ["a2a-samples/a2a_mcp__car_rental_agent"]),
 ("coordinate several helpers to carry out a multi-step job", ["a2a-samples/a2a_mcp__orchestrator_agent"]),
 ("split a big goal into concrete steps", ["a2a-samples/a2a_mcp__planner_agent"]),
 ("how many yen is 100 euros", ["a2a-samples/adk_currency_agent__agent_card"]),
 ("check my patch for defects before merging", ["agntcy-dir/a2a-agent-card"]),
 ("get me a sandwich with a beef patty and fries", ["oasf-sdk/expected_a2a_output", "oasf-sdk/translation_a2a"]),
 ("quickest way to get by car to the stadium given current congestion", ["spec-docs/sample-agent-card-v0.2.6", "spec-docs/sample-agent-card-v0.3.0", "spec-docs/sample-agent-card-v1.0.1"]),
 ("I need to fly to Tokyo next month", ["a2a-samples/a2a_mcp__air_ticketing_agent"]),
 ("I need an automobile for a week in Lisbon", ["a2a-samples/a2a_mcp__car_rental_agent"]),
 ("run a whole workflow end to end by delegating to other assistants", ["a2a-samples/a2a_mcp__orchestrator_agent"]),
 ("decompose what I asked into a to-do list", ["a2a-samples/a2a_mcp__planner_agent"]),
 ("exchange rate between dollars and pounds", ["a2a-samples/adk_currency_agent__agent_card"]),
 ("critique a diff for readability and risky edits", ["agntcy-dir/a2a-agent-card"]),
 ("place a fast-food takeaway request", ["oasf-sdk/expected_a2a_output", "oasf-sdk/translation_a2a"]),
 ("draw my own atlas of cafés near me", ["spec-docs/sample-agent-card-v0.2.6", "spec-docs/sample-agent-card-v0.3.0", "spec-docs/sample-agent-card-v1.0.1"]),
 ("get me a return flight to New York", ["a2a-samples/a2a_mcp__air_ticketing_agent"]),
 ("pick up a hire vehicle at the airport", ["a2a-samples/a2a_mcp__car_rental_agent"]),
 ("manage a team of assistants so a complex job gets done", ["a2a-samples/a2a_mcp__orchestrator_agent"]),
 ("work out the sub-steps needed to organise my business trip", ["a2a-samples/a2a_mcp__planner_agent"]),
 ("change money from one denomination to another", ["a2a-samples/adk_currency_agent__agent_card"]),
 ("spot problems in a proposed patch to the repository", ["agntcy-dir/a2a-agent-card"]),
 ("buy a cheeseburger meal", ["oasf-sdk/expected_a2a_output", "oasf-sdk/translation_a2a"]),
 ("how long will my commute take with jams right now", ["spec-docs/sample-agent-card-v0.2.6", "spec-docs/sample-agent-card-v0.3.0", "spec-docs/sample-agent-card-v1.0.1"]),
 ("purchase airline seats for a family holiday", ["a2a-samples/a2a_mcp__air_ticketing_agent"]),
 ("what are Swiss francs worth in US dollars", ["a2a-samples/adk_currency_agent__agent_card"]),
 ("show every stop of my motoring holiday on a chart of the region", ["spec-docs/sample-agent-card-v0.2.6", "spec-docs/sample-agent-card-v0.3.0", "spec-docs/sample-agent-card-v1.0.1"]),
 ("find flaws and unsafe patterns in a teammate's submission", ["agntcy-dir/a2a-agent-card"]),
 ("lay out the individual jobs for a larger objective", ["a2a-samples/a2a_mcp__planner_agent"]),
 ("reserve a one-way economy fare to Chicago", ["a2a-samples/a2a_mcp__air_ticketing_agent"]),
 ("I want a compact hatchback for three days in Rome", ["a2a-samples/a2a_mcp__car_rental_agent"]),
 ("what is 250 Canadian dollars in rupees", ["a2a-samples/adk_currency_agent__agent_card"]),
]
DIRREC = "agntcy-dir/e2e/directory-record"
MKT = ["agntcy-dir/e2e/record_070", "agntcy-dir/e2e/record_070_sync_v4", "agntcy-dir/e2e/record_070_sync_v5"]
RES = ["agntcy-dir/e2e/record_080_v4", "agntcy-dir/validate/record_valid", "agntcy-dir/e2e/record_080_v5"]
BURGER = ["agntcy-dir/e2e/record_100", "oasf-sdk/translation_1.0.0_record", "oasf-sdk/expected_a2atorecord_output"]
REVIEW = ["agntcy-dir/e2e/skill_record"]
PDF = ["oasf-sdk/expected_skilltorecord_output", "oasf-sdk/translation_agentskills_record"]
IDE = ["oasf-sdk/translation_0.7.0_record", "oasf-sdk/translation_0.8.0_record"]
DIRMCP = "oasf-sdk/translation_dir_mcp_record"
OASF = [
 ("explain how an assistant can upload, find, download and confirm entries are genuine here", [DIRREC, DIRMCP]),
 ("study the promotion plans of a networking hardware company", MKT),
 ("a helper that crunches numbers and thinks through hard questions", RES),
 ("take my fast-food takeaway request", BURGER),
 ("look over a diff before I land it", REVIEW),
 ("keep what we talked about weeks ago available in whatever chat app I use", ["oasf-sdk/expected_mcp_http_headers_output"]),
 ("inspect captured network traffic dumps", ["oasf-sdk/expected_mcp_minimal_local_output"]),
 ("create folders and edit documents on my local drive without risk", ["oasf-sdk/expected_mcptorecord_output"]),
 ("pull the words out of portable documents and combine several into one", PDF),
 ("something that plugs into my code editor", IDE),
 ("a tool backend for finding, uploading and downloading entries in the catalogue", [DIRMCP, DIRREC]),
 ("showcase covering everything the early specification allowed, including seeing pictures", ["oasf-sdk/historical/valid_0.3.1_record"]),
 ("fixture that checks identifier lookup during integration runs", ["agntcy-dir/e2e/record_070_name_resolution"]),
 ("software for connected sensors and smart household devices", ["oasf-sdk/valid_1.0.0_record", "oasf-sdk/valid_0.7.0_record", "oasf-sdk/valid_0.8.0_record", "oasf-sdk/expected_0.8.0_decoded", "oasf-sdk/expected_1.0.0_decoded", "oasf-sdk/historical/valid_v0.6.0_record"]),
 ("manual for this catalogue: how to get listed and prove entries are genuine", [DIRREC, DIRMCP]),
 ("competitive positioning study for a network equipment vendor's campaigns", MKT),
 ("helper for crunching datasets and working through puzzles", RES),
 ("I'd like a beef sandwich with cheese", BURGER),
 ("find defects, slow spots and unsafe patterns in a diff", REVIEW),
 ("long-lived recall of discussions on every messaging app", ["oasf-sdk/expected_mcp_http_headers_output"]),
 ("look inside a wireshark capture", ["oasf-sdk/expected_mcp_minimal_local_output"]),
 ("read and change what is on my disk with guard rails", ["oasf-sdk/expected_mcptorecord_output"]),
 ("portable document format: get the words out, join several", PDF),
 ("assistant living inside IntelliJ or VS Code", IDE),
 ("campaign planning study for a big networking firm", MKT),
 ("help me think through a tricky quantitative question", RES),
 ("look at my teammate's proposed patch for mistakes", REVIEW),
 ("combine two portable documents into one", PDF),
 ("traffic capture inspection of packets", ["oasf-sdk/expected_mcp_minimal_local_output"]),
 ("a legacy record that shows off every field of the old layout", ["oasf-sdk/historical/valid_0.3.1_record"]),
 ("remember my preferences in every assistant I talk to", ["oasf-sdk/expected_mcp_http_headers_output"]),
 ("split one portable document into its pages and pull out the words", PDF),
 ("how-to for using this catalogue from an assistant", [DIRREC, DIRMCP]),
]

# Requests that name the product they want (the target's own word, on purpose): the lexical
# half should count here. A check, never tuned on; not subject to check_words.py.
MCP_NAMED = [
 ("redis", ["redis/mcp-redis", "redis/mcp-redis-cloud", "gongrzhe/redis-mcp-server", "prajwalnayak7/mcp-server-redis"]),
 ("whatsapp", ["lharries/whatsapp-mcp"]),
 ("kubernetes", ["flux159/mcp-server-kubernetes", "manusa/kubernetes-mcp-server", "razvanmacovei/k8s-multicluster-mcp", "yanmxa/multicluster-mcp-server", "strowk/mcp-k8s-go"]),
 ("obsidian vault", ["calclavia/mcp-obsidian", "stevenstavrakis/obsidian-mcp"]),
 ("neo4j", ["neo4j-contrib/mcp-neo4j", "da-okazaki/mcp-neo4j-server"]),
 ("stripe payments", ["stripe/agent-toolkit", "atharvagupta2003/mcp-stripe"]),
 ("slack", ["korotovsky/slack-mcp-server"]),
 ("spotify", ["varunneal/spotify-mcp"]),
 ("docker", ["ckreiling/mcp-server-docker"]),
 ("blender", ["ahujasid/blender-mcp"]),
 ("elevenlabs voice", ["mamertofabian/elevenlabs-mcp-server"]),
 ("notion pages", ["suekou/mcp-notion-server", "v-3/notion-server"]),
 ("airtable bases", ["domdomegg/airtable-mcp-server", "felores/airtable-mcp"]),
 ("mongodb atlas", ["mongodb-js/mongodb-mcp-server", "kiliczsh/mcp-mongo-server", "furey/mongodb-lens"]),
 ("todoist", ["abhiz123/todoist-mcp-server"]),
 ("youtube", ["zubeidhendricks/youtube-mcp-server"]),
 ("shopify store", ["geli2001/shopify-mcp"]),
 ("figma designs", ["glips/figma-context-mcp", "sonnylazuardi/cursor-talk-to-figma-mcp"]),
 ("github actions", ["ko1ynnky/github-actions-mcp-server"]),
 ("jira confluence", ["sooperset/mcp-atlassian"]),
 ("grafana", ["grafana/mcp-grafana"]),
 ("pinecone", ["pinecone-io/pinecone-mcp", "pinecone-io/assistant-mcp", "sirmews/mcp-pinecone"]),
 ("bigquery", ["lucashild/mcp-server-bigquery", "ergut/mcp-bigquery-server"]),
 ("snowflake", ["isaacwasserman/mcp-snowflake-server"]),
 ("discord", ["v-3/discordmcp", "saseq/discord-mcp"]),
 ("telegram", ["chaindead/telegram-mcp"]),
 ("gmail", ["gongrzhe/gmail-mcp-server", "baryhuang/mcp-headless-gmail"]),
 ("home assistant", ["tevonsb/homeassistant-mcp", "voska/hass-mcp"]),
 ("playwright", ["executeautomation/mcp-playwright"]),
 ("firecrawl", ["mendableai/firecrawl-mcp-server", "vrknetha/mcp-server-firecrawl"]),
 ("uniswap", ["kukapay/uniswap-trader-mcp", "kukapay/uniswap-poolspy-mcp"]),
 ("ableton live", ["simon-kansara/ableton-live-mcp-server", "ahujasid/ableton-mcp"]),
]

def write(name, rows, prefix="", rule="each query avoids the words (and stems) of its targets' names, descriptions and skills; any listed target counts as a hit"):
    qs = []
    for i, (q, t) in enumerate(rows):
        qs.append({"id": f"{name}-{i+1:02}", "split": "tune" if i % 2 == 0 else "report", "q": q,
                   "targets": [prefix + x for x in t]})
    out = {"corpus": name, "written_by": "agentry maintainers, by hand, for bench/relevance",
           "rule": rule,
           "split": "fixed by position: even → tune, odd → report", "queries": qs}
    pathlib.Path(__file__).with_name("queries").joinpath(f"{name}.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")

write("mcp", MCP, G)
write("mcp-named", MCP_NAMED, G, rule="each query names the product it wants (a check set, never tuned on); any listed target counts as a hit")
write("a2a", A2A)
write("oasf", OASF)

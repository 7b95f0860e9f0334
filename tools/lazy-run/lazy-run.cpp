//===- lazy-run.cpp - generate text with a compiled model ------------------===//
//
//   lazy-run model.so -m MODEL (-p TEXT | -f FILE) [-n N] [--chat] [--json]
//            [--ctx N] [--temp T] [--top-k K] [--top-p P] [--seed S] [--batch B]
//            [--follow-up TEXT]... [-i] [--session FILE [--continue]]
//
// Builds without LLVM/MLIR (runtime-only configuration).
//
//===----------------------------------------------------------------------===//

#include "runtime/Runtime.h"
#include "runtime/cpu/Kernels.h"
#include "runtime/model/Json.h"
#include "runtime/model/Tokenizer.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <numeric>
#include <optional>
#include <random>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace lazyc::rt;
using Clock = std::chrono::steady_clock;

namespace {

const char *kUsage =
    "usage: lazy-run MODEL.so -m MODEL (-p TEXT | -f FILE) [options]\n"
    "  -m, --model PATH     the model file the .so was compiled from (GGUF or HF folder)\n"
    "  -p, --prompt TEXT    prompt text\n"
    "  -f, --file PATH      read the prompt from a file\n"
    "      --ids PATH       read the prompt as token ids (whitespace-separated)\n"
    "      --ignore-eos     keep generating past the end-of-sequence token\n"
    "  -n, --n-predict N    tokens to generate (default 64)\n"
    "      --chat           wrap the prompt in the model's chat template\n"
    "      --system TEXT    with --chat: a system message before the prompt\n"
    "      --chat-template-kwargs JSON  with --chat: more variables for the template,\n"
    "                       e.g. '{\"enable_thinking\": false}' (Qwen3, SmolLM3)\n"
    "      --json           print metrics (and the text) as JSON\n"
    "      --ctx N          KV cache size in tokens (default: compiled context)\n"
    "      --temp T         sampling temperature (default 0 = greedy)\n"
    "      --top-k K        keep the K most likely tokens (default off)\n"
    "      --top-p P        nucleus sampling mass (default 1 = off)\n"
    "      --seed S         sampler seed (default 0)\n"
    "      --batch B        prompt tokens per prefill step (default 512; a pruned model\n"
    "                       prefills the whole prompt in one step)\n"
    "      --random-weights[=SEED]  deterministic random weights instead of -m (synthetic\n"
    "                       models, lazy-compile synthetic:NAME; same values on CPU and GPU)\n"
    "      --random-prompt N  N random token ids (seeded by --seed) as the prompt\n"
    "      --repeat R       prefill R times (cache reset in between), report the median TTFT\n"
    "      --warmup W       W untimed prefills first (allocator, GEMM plans, lazy loading;\n"
    "                       LAZYC_CUDA_PROFILE=1 then leaves them out)\n"
    "      --logits FILE    write the first generated token's logits (float32, raw)\n"
    "      --decode-logits FILE  write each decode step's logits after it, one row per\n"
    "                       step (float32, raw; with -n N, N - 1 rows; the first answer's)\n"
    "      --follow-up TEXT another question after the answer (repeatable), in the same\n"
    "                       context: its tokens are one step after what is cached (with\n"
    "                       --chat, a new user turn; else TEXT is appended as it is), then\n"
    "                       up to -n tokens answer it. A pruned model selects again for it\n"
    "                       and revives what the question needs from the Aux Cache\n"
    "  -i, --interactive    then read more questions from stdin, one per line, each a\n"
    "                       follow-up, until end of input (Ctrl-D); without -p/-f/--ids\n"
    "                       the first line is the prompt. On a terminal each answer is\n"
    "                       followed by its timings on stderr\n"
    "      --session FILE   restore the cached context saved in FILE by an earlier run\n"
    "                       (same compiled model and weights) as far as its tokens begin\n"
    "                       the prompt, feed only the rest, and save the prompt's state\n"
    "                       to FILE (CPU models); with --follow-up or -i, the whole\n"
    "                       conversation after each answer\n"
    "      --continue       continue the conversation saved in --session FILE: no\n"
    "                       prompt, its questions from --follow-up and/or -i; with\n"
    "                       --temp, sampling goes on where it stopped (unless --seed)\n";

/// What --session keeps of a conversation for --continue (the session's
/// note, JSON): the chat so far and where its last answer stopped.
struct Conversation {
  bool chat = false;                 // --chat: questions are rendered as user turns
  std::vector<ChatMessage> messages; // --chat: the turns so far, the last question last
  std::string answer;                // the last answer
  int32_t pending = -1;              // its last token when -n cut it off (not fed yet)
  size_t questions = 0;              // follow-up questions answered
  std::string sampler;               // the sampler's random state (empty: none saved)

  std::string json() const {
    std::string out = "{\"lazy_run_conversation\": 1, \"chat\": ";
    out += chat ? "true" : "false";
    out += ", \"questions\": " + std::to_string(questions) +
           ", \"pending\": " + std::to_string(pending) + ", \"answer\": \"" +
           jsonEscape(answer) + "\", \"sampler\": \"" + jsonEscape(sampler) +
           "\", \"messages\": [";
    for (size_t i = 0; i < messages.size(); ++i)
      out += std::string(i ? ", " : "") + "{\"role\": \"" + jsonEscape(messages[i].role) +
             "\", \"content\": \"" + jsonEscape(messages[i].content) + "\"}";
    return out + "]}";
  }
  /// False when `note` holds no conversation (a prompt's session has none).
  bool parse(const std::string &note) {
    std::string error;
    auto value = note.empty() ? nullptr : JsonValue::parse(note, error);
    if (!value || value->getInt("lazy_run_conversation") != 1)
      return false;
    const JsonValue *list = value->get("messages");
    auto count = value->getInt("questions");
    auto last = value->getInt("pending");
    auto text = value->getString("answer");
    auto isChat = value->getBool("chat");
    if (!list || !list->isArray() || !count || *count < 0 || !last || *last < -1 ||
        *last > INT32_MAX || !text || !isChat)
      return false;
    for (const JsonValue &m : list->array()) {
      auto role = m.getString("role"), content = m.getString("content");
      if (!role || !content)
        return false;
      messages.push_back({*role, *content});
    }
    chat = *isChat;
    sampler = value->getString("sampler").value_or(""); // (older sessions: none)
    questions = static_cast<size_t>(*count);
    pending = static_cast<int32_t>(*last);
    answer = *text;
    return true;
  }
};

int fail(const std::string &message) {
  std::fprintf(stderr, "lazy-run: error: %s\n", message.c_str());
  return 1;
}

/// The median of `values` (the upper one of an even count); 0 when empty.
double median(std::vector<double> values) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

bool parseNumber(const char *text, double &out) {
  char *end = nullptr;
  out = std::strtod(text, &end);
  return end && *end == '\0' && end != text;
}

int64_t sum(const std::vector<int64_t> &values) {
  return std::accumulate(values.begin(), values.end(), int64_t{0});
}

/// A JSON array of integers.
template <typename T> std::string jsonIntegers(const std::vector<T> &values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i)
    out += (i ? ", " : "") + std::to_string(values[i]);
  return out + "]";
}

/// A JSON array of numbers, each printed with `format` ("%.2f").
std::string jsonNumbers(const std::vector<double> &values, const char *format) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    char b[32];
    std::snprintf(b, sizeof(b), format, values[i]);
    out += (i ? ", " : "") + std::string(b);
  }
  return out + "]";
}

/// One answer: tokens sampled from the last step's logits, each fed back at
/// the next position, until an end of generation or -n tokens. The last
/// token of an answer cut off by -n is not fed yet (`pending`): a follow-up
/// feeds it first.
struct Answer {
  std::string text;
  std::vector<int32_t> ids;
  std::vector<double> stepMs;           // each decode step's wall time (model->step alone)
  std::vector<int64_t> stepTokenLayers; // each decode step's computed token-layers
  int64_t revived = 0;                  // rows its decode steps read from the Aux Cache
  double decodeMs = 0;                  // --decode-logits writes left out
  int32_t pending = -1;
  /// Decode speed: the tokens after the first, over the decode time.
  double tokensPerSecond() const {
    return ids.size() > 1 ? static_cast<double>(ids.size() - 1) / (decodeMs / 1000.0) : 0.0;
  }
};

/// A follow-up question: its step (tokens, token-layers computed, revivals,
/// time) and its answer.
struct FollowUp {
  std::string question;
  int64_t tokens = 0, tokenLayers = 0, revived = 0;
  double ttftMs = 0;
  Answer reply;
};

/// What --json prints of a run.
struct Report {
  const ModelInfo &info;
  const StepStats &prefill;  // the prompt's steps
  const StepStats &last;     // the first answer's last step
  int64_t promptTokens = 0;  // the prompt (--continue: the conversation so far)
  int64_t fedTokens = 0;     // ... of which were fed (not restored from a session)
  int64_t reused = 0;        // ... restored from a session
  double loadMs = 0, ttftMs = 0, sessionMs = 0;
  const std::vector<double> &ttfts; // each timed prefill (--repeat)
  const Answer &first;
  const std::deque<FollowUp> &followUps;
  std::string device, attention;
  bool continued = false; // --continue
};

/// The run as one JSON object on stdout: timings, LazyLLM's measures of the
/// prompt's steps (the share of prompt token-layers computed, the paper's
/// Table 2 measure; |S_l| per layer; revivals; the Aux Cache), the answers.
void printReport(const Report &r) {
  // Over all prefill steps (a dense model prefills in batches).
  const int64_t computed = sum(r.prefill.totalComputed);
  const std::string kept = jsonIntegers(r.prefill.keys),
                    perLayer = jsonIntegers(r.prefill.totalComputed);
  double share = static_cast<double>(computed) /
                 (static_cast<double>(r.info.layers) * static_cast<double>(r.promptTokens));
  std::string schedule = "[";
  for (size_t i = 0; i < r.info.schedule.size(); ++i)
    schedule += (i ? ", [" : "[") + std::to_string(r.info.schedule[i].first) + ", " +
                std::to_string(r.info.schedule[i].second) + "]";
  schedule += "]";
  const std::string runs = jsonNumbers(r.ttfts, "%.2f");
  // Per decode step: wall time and token-layers computed (a dense step
  // computes one token at every layer; a pruned one adds its revivals).
  const std::string stepList = jsonNumbers(r.first.stepMs, "%.3f"),
                    stepRows = jsonIntegers(r.first.stepTokenLayers);
  const std::string idList = jsonIntegers(r.first.ids);
  // The median decode step: the first steps of a process pay for warm-up
  // (a GPU's per-shape GEMM plans, kernel loading), which the mean includes.
  const double stepMedian = median(r.first.stepMs);
  // Per follow-up: its question's step (TTFT, token-layers, revivals) and answer.
  std::string followUpJson = "[";
  for (const FollowUp &f : r.followUps) {
    const Answer &a = f.reply;
    const int64_t n = static_cast<int64_t>(a.ids.size());
    char numbers[512];
    std::snprintf(numbers, sizeof(numbers),
                  "\"question_tokens\": %lld, \"ttft_ms\": %.1f, \"question_token_layers\": %lld, "
                  "\"question_revived_tokens\": %lld, \"generated_tokens\": %lld, "
                  "\"decode_tokens_per_s\": %.2f, \"decode_step_ms_median\": %.3f, "
                  "\"revived_tokens\": %lld, ",
                  static_cast<long long>(f.tokens), f.ttftMs,
                  static_cast<long long>(f.tokenLayers), static_cast<long long>(f.revived),
                  static_cast<long long>(n), a.tokensPerSecond(),
                  median(a.stepMs), static_cast<long long>(a.revived));
    followUpJson += std::string(followUpJson.size() > 1 ? ", " : "") + "{\"question\": \"" +
                    jsonEscape(f.question) + "\", " + numbers +
                    "\"decode_step_token_layers\": " + jsonIntegers(a.stepTokenLayers) +
                    ", \"generated_ids\": " + jsonIntegers(a.ids) + ", \"text\": \"" +
                    jsonEscape(a.text) + "\"}";
  }
  followUpJson += "]";
  int64_t maxPerLayer = 0;
  for (int64_t c : r.last.totalComputed)
    maxPerLayer = std::max(maxPerLayer, c);
  std::printf("{\"prompt_tokens\": %lld, \"generated_tokens\": %lld, \"load_ms\": %.1f, "
              "\"ttft_ms\": %.1f, \"prefill_tokens_per_s\": %.1f, \"decode_tokens_per_s\": %.2f, "
              "\"decode_step_ms_median\": %.3f, \"decode_step_ms\": %s, "
              "\"decode_step_token_layers\": %s, "
              "\"peak_rss_mib\": %.1f, \"pruned\": %s, \"policy\": \"%s\", \"score_window\": %lld, "
              "\"score_pool\": %lld, \"reuse_bias\": %g, \"schedule\": %s, \"min_keep\": %lld, "
              "\"computed_share\": %.4f, \"kept_tokens_per_layer\": %s, "
              "\"computed_tokens_per_layer\": %s, \"select_ms\": %.2f, "
              "\"revived_tokens\": %lld, \"max_token_layers_computed_per_layer\": %lld, "
              "\"aux_cache_bytes\": %lld, \"target\": \"%s\", \"kv_cache\": \"%s\", "
              "\"device\": \"%s\", "
              "\"attention\": \"%s\", \"session_reused_tokens\": %lld, \"session_ms\": %.1f, "
              "\"continued\": %s, "
              "\"ttft_ms_runs\": %s, "
              "\"generated_ids\": %s, "
              "\"text\": \"%s\", \"follow_ups\": %s}\n",
              static_cast<long long>(r.promptTokens), static_cast<long long>(r.first.ids.size()),
              r.loadMs, r.ttftMs,
              r.fedTokens == 0 ? 0.0 : static_cast<double>(r.fedTokens) / (r.ttftMs / 1000.0),
              r.first.tokensPerSecond(), stepMedian,
              stepList.c_str(), stepRows.c_str(),
              peakRSSMiB(), r.info.pruned ? "true" : "false", jsonEscape(r.info.policy).c_str(),
              static_cast<long long>(r.info.scoreWindow), static_cast<long long>(r.info.scorePool),
              r.info.reuseBias, schedule.c_str(), static_cast<long long>(r.info.minKeep), share,
              kept.c_str(),
              perLayer.c_str(),
              r.prefill.selectSeconds * 1000.0, static_cast<long long>(r.first.revived),
              static_cast<long long>(maxPerLayer), static_cast<long long>(r.last.auxBytes),
              r.info.target.c_str(), r.info.target == "cuda" ? "bf16" : r.info.kvCache.c_str(),
              jsonEscape(r.device).c_str(),
              jsonEscape(r.attention).c_str(), static_cast<long long>(r.reused),
              r.sessionMs, r.continued ? "true" : "false", runs.c_str(), idList.c_str(),
              jsonEscape(r.first.text).c_str(), followUpJson.c_str());
}

/// The command line.
struct Options {
  std::string library, modelPath, prompt, promptFile, idsFile;
  bool chat = false, json = false, havePrompt = false, ignoreEos = false, interactive = false;
  bool continuing = false; // --continue
  bool seedGiven = false;  // --seed (else --continue restores the saved sampler)
  int64_t nPredict = 64, context = 0, batch = 512, randomPrompt = 0, repeat = 1, warmup = 0;
  std::string logitsFile, decodeLogitsFile, sessionFile;
  std::optional<std::string> systemMessage; // --system
  std::string templateKwargsText;           // --chat-template-kwargs
  std::unique_ptr<JsonValue> templateKwargs; // ... parsed
  std::vector<std::string> followUps;
  bool randomWeights = false;
  uint64_t weightSeed = 0;
  SamplerOptions sampling;
};

/// Reads the command line into `o` and checks its options' combinations and
/// ranges, each error named. An exit status when the run ends here (--help:
/// 0, an error: 1, a malformed command line: 2), else nothing.
std::optional<int> readCommandLine(int argc, char **argv, Options &o) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](double &out) {
      if (i + 1 >= argc || !parseNumber(argv[i + 1], out)) {
        std::fprintf(stderr, "lazy-run: error: %s needs a number\n%s", arg.c_str(), kUsage);
        std::exit(2);
      }
      ++i;
    };
    auto text = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "lazy-run: error: %s needs a value\n%s", arg.c_str(), kUsage);
        std::exit(2);
      }
      return argv[++i];
    };
    double number;
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "-m" || arg == "--model") {
      o.modelPath = text();
    } else if (arg == "-p" || arg == "--prompt") {
      o.prompt = text();
      o.havePrompt = true;
    } else if (arg == "-f" || arg == "--file") {
      o.promptFile = text();
      o.havePrompt = true;
    } else if (arg == "-n" || arg == "--n-predict") {
      value(number);
      o.nPredict = static_cast<int64_t>(number);
    } else if (arg == "--ids") {
      o.idsFile = text();
      o.havePrompt = true;
    } else if (arg == "--ignore-eos") {
      o.ignoreEos = true;
    } else if (arg == "--chat") {
      o.chat = true;
    } else if (arg == "--system") {
      o.systemMessage = text();
    } else if (arg == "--chat-template-kwargs") {
      o.templateKwargsText = text();
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--ctx") {
      value(number);
      o.context = static_cast<int64_t>(number);
    } else if (arg == "--temp") {
      value(number);
      o.sampling.temperature = static_cast<float>(number);
    } else if (arg == "--top-k") {
      value(number);
      o.sampling.topK = static_cast<int>(number);
    } else if (arg == "--top-p") {
      value(number);
      o.sampling.topP = static_cast<float>(number);
    } else if (arg == "--seed") {
      value(number);
      o.sampling.seed = static_cast<uint64_t>(number);
      o.seedGiven = true;
    } else if (arg == "--batch") {
      value(number);
      o.batch = static_cast<int64_t>(number);
    } else if (arg == "--random-weights" || arg.rfind("--random-weights=", 0) == 0) {
      o.randomWeights = true;
      if (arg.size() > 17 && !parseNumber(arg.c_str() + 17, number))
        return fail("--random-weights=SEED needs a number");
      o.weightSeed = arg.size() > 17 ? static_cast<uint64_t>(number) : 0;
    } else if (arg == "--random-prompt") {
      value(number);
      o.randomPrompt = static_cast<int64_t>(number);
      o.havePrompt = true;
    } else if (arg == "--repeat") {
      value(number);
      o.repeat = static_cast<int64_t>(number);
    } else if (arg == "--warmup") {
      value(number);
      o.warmup = static_cast<int64_t>(number);
    } else if (arg == "--logits") {
      o.logitsFile = text();
    } else if (arg == "--decode-logits") {
      o.decodeLogitsFile = text();
    } else if (arg == "--follow-up") {
      o.followUps.push_back(text());
    } else if (arg == "--session") {
      o.sessionFile = text();
    } else if (arg == "--continue") {
      o.continuing = true;
    } else if (arg == "-i" || arg == "--interactive") {
      o.interactive = true;
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "lazy-run: error: unknown option '%s'\n%s", arg.c_str(), kUsage);
      return 2;
    } else if (o.library.empty()) {
      o.library = arg;
    } else {
      std::fprintf(stderr, "lazy-run: error: unexpected argument '%s'\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  if (o.randomWeights) {
    if (!o.modelPath.empty())
      return fail("--random-weights and -m exclude each other");
    o.modelPath = "random:" + std::to_string(o.weightSeed);
  }
  if (o.systemMessage && !o.chat)
    return fail("--system is a message of the chat template: it needs --chat");
  if (!o.templateKwargsText.empty() && !o.chat)
    return fail("--chat-template-kwargs are variables of the chat template: it needs --chat");
  if (std::string kwargsError; !o.templateKwargsText.empty() &&
      !(o.templateKwargs = Tokenizer::parseChatTemplateKwargs(o.templateKwargsText, kwargsError)))
    return fail(kwargsError);
  if (o.continuing) {
    if (o.systemMessage)
      return fail("--continue: the conversation's system message was given when it began "
                  "(--system is for a new conversation)");
    if (o.sessionFile.empty())
      return fail("--continue continues the conversation saved in a --session FILE: name it");
    if (o.havePrompt)
      return fail("--continue takes its context from the session: give questions with "
                  "--follow-up or -i, not a prompt");
    if (o.followUps.empty() && !o.interactive)
      return fail("--continue needs questions: --follow-up TEXT or -i");
    if (access(o.sessionFile.c_str(), F_OK) != 0)
      return fail("--continue: no session '" + o.sessionFile + "' to continue");
    if (!o.logitsFile.empty() || !o.decodeLogitsFile.empty())
      return fail("--logits and --decode-logits are the first answer's: --continue has none");
  }
  if (o.library.empty() || o.modelPath.empty() ||
      (!o.havePrompt && !o.interactive && !o.continuing)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  // Each option's range, named: a negative temperature would sample the
  // least likely tokens, a negative count wrap around.
  if (o.nPredict < 0)
    return fail("-n must be >= 0, got " + std::to_string(o.nPredict));
  if (o.batch <= 0)
    return fail("--batch must be > 0, got " + std::to_string(o.batch));
  if (o.repeat < 1)
    return fail("--repeat must be >= 1, got " + std::to_string(o.repeat));
  if (o.warmup < 0)
    return fail("--warmup must be >= 0, got " + std::to_string(o.warmup));
  if (o.randomPrompt < 0)
    return fail("--random-prompt must be >= 0, got " + std::to_string(o.randomPrompt));
  if (o.context < 0)
    return fail("--ctx must be >= 1 (or 0: the compiled context), got " +
                std::to_string(o.context));
  for (const std::string &q : o.followUps)
    if (q.empty())
      return fail("--follow-up needs a non-empty question");
  if ((!o.followUps.empty() || o.interactive) && (o.repeat != 1 || o.warmup != 0))
    return fail(std::string(o.interactive ? "--interactive" : "--follow-up") +
                " answers in the context of one prefill: it excludes --repeat and --warmup");
  if (!o.sessionFile.empty() && (o.repeat != 1 || o.warmup != 0))
    return fail("--session restores one prefill: it excludes --repeat and --warmup");
  if (o.interactive && o.nPredict == 0)
    return fail("--interactive answers each question with up to -n tokens: -n 0 answers none");
  auto shortest = [](float x) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%g", static_cast<double>(x));
    return std::string(buffer);
  };
  if (!(o.sampling.topP > 0 && o.sampling.topP <= 1))
    return fail("--top-p must be in (0, 1], got " + shortest(o.sampling.topP));
  if (!(o.sampling.temperature >= 0) || !std::isfinite(o.sampling.temperature))
    return fail("--temp must be >= 0 (0: greedy), got " + shortest(o.sampling.temperature));
  if (o.sampling.topK < 0)
    return fail("--top-k must be >= 0 (0: off), got " + std::to_string(o.sampling.topK));
  return std::nullopt;
}

/// The prompt's token ids: --random-prompt's, --ids' file's, or `text`
/// (the prompt, rendered by the chat template with --chat) encoded.
bool promptIds(const Options &o, const std::string &text, const CompiledModel &model,
               const Tokenizer *tok, std::vector<int32_t> &ids, std::string &error) {
  if (o.randomPrompt > 0) {
    std::mt19937_64 rng(o.sampling.seed);
    for (int64_t i = 0; i < o.randomPrompt; ++i)
      ids.push_back(static_cast<int32_t>(rng() % static_cast<uint64_t>(model.info().vocabSize)));
    return true;
  }
  if (!o.idsFile.empty()) {
    std::ifstream in(o.idsFile);
    if (!in) {
      error = "cannot read token ids from '" + o.idsFile + "'";
      return false;
    }
    long long id;
    while (in >> id)
      ids.push_back(static_cast<int32_t>(id));
    if (!in.eof()) {
      error = "'" + o.idsFile + "' holds something other than token ids";
      return false;
    }
    return true;
  }
  // With --chat the template writes the BOS (transformers tokenizes a chat
  // without adding special tokens).
  return tok->encode(text, ids, error, !o.chat && tok->addBosByDefault());
}

/// LazyLLM keeps ceil(keep * |S_l|) tokens at each pruning layer: on a short
/// prompt a schedule without a floor (lazy-compile --min-keep=0) leaves a
/// handful (the default keeps 1 of 5 tokens after layer 17), and the answer
/// degrades for no gain. Says so on stderr.
void noteFewKept(const ModelInfo &info, int64_t promptTokens) {
  constexpr int64_t kFewKept = 32;
  int64_t kept = promptTokens;
  for (auto [layer, keep] : info.schedule) {
    const int64_t next = lazyc_rt_select_size(kept, keep, info.minKeep);
    if (next < kFewKept && next < kept) {
      std::fprintf(stderr,
                   "lazy-run: note: with this %lld-token prompt the pruned model computes only "
                   "%lld token%s from layer %lld on (its floor: --min-keep=%lld); LazyLLM pays "
                   "off on long prompts (hundreds of tokens and more), on a short one it costs "
                   "accuracy for nothing: use a dense model or recompile with the default "
                   "--min-keep\n",
                   static_cast<long long>(promptTokens), static_cast<long long>(next),
                   next == 1 ? "" : "s", static_cast<long long>(layer + 1),
                   static_cast<long long>(info.minKeep));
      break;
    }
    kept = next;
  }
}

/// A question typed on stdin: its next line that is not blank (a CRLF
/// line's \r dropped), after a "> " prompt on a terminal; false at the end of
/// input.
bool readQuestion(bool terminal, std::string &line) {
  for (;;) {
    if (terminal) {
      std::fputs("> ", stderr);
      std::fflush(stderr);
    }
    if (!std::getline(std::cin, line)) {
      if (terminal)
        std::fputc('\n', stderr); // after the prompt's "> "
      return false;
    }
    if (!line.empty() && line.back() == '\r') // a CRLF line
      line.pop_back();
    if (line.find_first_not_of(" \t") != std::string::npos)
      return true; // blank lines ask nothing
  }
}

} // namespace

int main(int argc, char **argv) {
  boundOpenMPSpinning(argv);
  Options o;
  if (std::optional<int> status = readCommandLine(argc, argv, o))
    return *status;
  if (!o.promptFile.empty()) {
    std::ifstream in(o.promptFile, std::ios::binary);
    if (!in)
      return fail("cannot read prompt file '" + o.promptFile + "'");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    o.prompt = buffer.str();
  }
  // The output files are opened now: an unwritable path fails before any work.
  FILE *logitsOut = nullptr, *decodeLogits = nullptr;
  if (!o.logitsFile.empty() && !(logitsOut = std::fopen(o.logitsFile.c_str(), "wb")))
    return fail("cannot write '" + o.logitsFile + "'");
  if (!o.decodeLogitsFile.empty() &&
      !(decodeLogits = std::fopen(o.decodeLogitsFile.c_str(), "wb")))
    return fail("cannot write '" + o.decodeLogitsFile + "'");

  auto loadStart = Clock::now();
  std::string error;
  auto model = CompiledModel::load(o.library, o.modelPath, o.context, error);
  if (!model)
    return fail(error);
  double loadMs = std::chrono::duration<double, std::milli>(Clock::now() - loadStart).count();
  const Tokenizer *tok = model->hasTokenizer() ? &model->tokenizer() : nullptr;

  if (!tok && (!o.followUps.empty() || o.interactive))
    return fail("no tokenizer (" + model->noTokenizerReason() + "): " +
                (o.interactive ? "--interactive" : "--follow-up") + " needs one");
  if (!o.sessionFile.empty() && model->info().target == "cuda")
    return fail("--session is for CPU models: on a GPU a prefill is faster than reading its "
                "KV cache back from a file");
  // With --follow-up or -i, --session keeps the conversation (saved after
  // each answer, with what a later --continue needs in the session's note).
  const bool conversationMode = !o.followUps.empty() || o.interactive;
  SessionRestore restored;
  Conversation resumed;
  double sessionMs = 0; // reading the session
  if (o.continuing) {
    auto restoreStart = Clock::now();
    if (!model->loadSession(o.sessionFile, nullptr, restored, error))
      return fail(error);
    sessionMs = std::chrono::duration<double, std::milli>(Clock::now() - restoreStart).count();
    if (!resumed.parse(restored.note))
      return fail("session '" + o.sessionFile + "' holds a prompt, not a conversation (a run "
                  "saves one with --follow-up or -i): use it with -p/-f, or continue a "
                  "conversation's session");
    if (o.chat && !resumed.chat)
      return fail("--chat: the conversation in '" + o.sessionFile + "' was not a chat; "
                  "continue it without --chat");
    o.chat = resumed.chat;
    std::fprintf(stderr,
                 "lazy-run: session '%s': a conversation of %lld tokens (%zu question%s "
                 "answered) restored in %.0f ms\n",
                 o.sessionFile.c_str(), static_cast<long long>(restored.reused),
                 resumed.questions, resumed.questions == 1 ? "" : "s", sessionMs);
  }
  // --interactive without a prompt: the first line of stdin is the prompt,
  // read once the model is ready.
  const bool terminal = isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
  if (o.interactive && terminal)
    std::fprintf(stderr, "lazy-run: %s per line, Ctrl-D ends\n",
                 o.havePrompt ? "answering the prompt first; then one follow-up question"
                              : "ready; one question");
  if (o.interactive && !o.havePrompt && !o.continuing) {
    if (!readQuestion(terminal, o.prompt))
      return 0; // end of input before a prompt: nothing asked
  }
  std::string text = o.prompt;
  if (!o.continuing && !tok && (o.chat || (o.idsFile.empty() && o.randomPrompt == 0)))
    return fail("no tokenizer (" + model->noTokenizerReason() + "): give the prompt as --ids "
                "or --random-prompt");
  // The conversation so far: the system message (--system) and the prompt.
  std::vector<ChatMessage> opening;
  if (o.systemMessage)
    opening.push_back({"system", *o.systemMessage});
  opening.push_back({"user", o.prompt});
  if (!o.continuing && o.chat &&
      !tok->applyChatTemplate(opening, true, text, error, o.templateKwargs.get()))
    return fail(error);
  std::vector<int32_t> ids;
  if (o.continuing)
    ids = restored.tokens; // the conversation so far, all in the cache
  else if (!promptIds(o, text, *model, tok, ids, error))
    return fail(error);
  if (ids.empty())
    return fail("the prompt is empty");
  // (--continue: the conversation restored, whose last answer is done.)
  int64_t promptTokens = static_cast<int64_t>(ids.size());
  if (!o.continuing && promptTokens + o.nPredict > model->context())
    return fail("the prompt (" + std::to_string(promptTokens) + " tokens) plus " +
                std::to_string(o.nPredict) + " generated tokens exceeds the context of " +
                std::to_string(model->context()) + " tokens (use --ctx or a shorter prompt)");

  // Prefill in batches; the last batch asks for its last row's logits. A
  // pruned model (LazyLLM) prefills the prompt in one step: its pruning
  // decisions are made for the prompt's last token.
  const ModelInfo &info = model->info();
  if (info.pruned)
    o.batch = promptTokens;
  if (info.pruned && !o.continuing)
    noteFewKept(info, promptTokens);
  // Follow-ups: the context must hold every question and answer; checked here
  // with the questions' own tokens (a chat template adds a few per turn,
  // checked again before each question's step).
  if (!o.followUps.empty()) {
    int64_t need = promptTokens + (o.continuing ? 0 : o.nPredict); // (--continue: answered)
    for (const std::string &question : o.followUps) {
      std::vector<int32_t> encoded;
      if (!tok->encode(question, encoded, error, false))
        return fail(error);
      need += static_cast<int64_t>(encoded.size()) + o.nPredict;
    }
    if (need > model->context())
      return fail(std::string(o.continuing ? "the conversation so far (" : "the prompt (") +
                  std::to_string(promptTokens) + " tokens), " +
                  std::to_string(o.followUps.size()) + " follow-up question" +
                  (o.followUps.size() == 1 ? "" : "s") + " and " + std::to_string(o.nPredict) +
                  " generated tokens per answer need " + std::to_string(need) +
                  " positions; the context holds " + std::to_string(model->context()) +
                  " (use --ctx, a smaller -n or fewer follow-ups)");
  }
  // --session: the saved context's common prefix with the prompt is
  // restored; only the rest is fed (and the prompt's state saved after).
  int64_t reused = restored.reused;
  // The last step's: the prompt's last row, then each decode step's.
  std::vector<float> logits = restored.logits;
  if (!o.sessionFile.empty() && !o.continuing) {
    if (access(o.sessionFile.c_str(), F_OK) == 0) {
      auto restoreStart = Clock::now();
      if (!model->loadSession(o.sessionFile, &ids, restored, error))
        return fail(error);
      reused = restored.reused;
      logits = restored.logits;
      sessionMs = std::chrono::duration<double, std::milli>(Clock::now() - restoreStart).count();
      std::fprintf(stderr,
                   "lazy-run: session '%s': %lld of %lld prompt tokens restored in %.0f ms\n",
                   o.sessionFile.c_str(), static_cast<long long>(reused),
                   static_cast<long long>(promptTokens), sessionMs);
    } else {
      std::fprintf(stderr, "lazy-run: session '%s' is new: the %s state is saved there\n",
                   o.sessionFile.c_str(), conversationMode ? "conversation's" : "prompt's");
    }
  }
  const std::vector<int32_t> fresh(ids.begin() + reused, ids.end()); // the tokens to feed
  bool progress = static_cast<int64_t>(fresh.size()) > o.batch && o.repeat == 1 && o.warmup == 0;
  bool tty = isatty(STDERR_FILENO);
  // One prefill of the whole prompt; its wall time in ms (< 0 on error).
  // Feeds `tokens` at positions `first`, `first` + 1, ... in steps of at most
  // `chunk`; the last step asks for its last row's logits. `afterStep(end)`
  // runs after each step (end: the tokens fed so far).
  auto feed = [&](const std::vector<int32_t> &tokens, int32_t first, int64_t chunk,
                  auto &&afterStep) -> bool {
    const auto count = static_cast<int64_t>(tokens.size());
    for (int64_t start = 0; start < count; start += chunk) {
      int64_t end = std::min(count, start + chunk);
      std::vector<int32_t> part(tokens.begin() + start, tokens.begin() + end), positions;
      for (int64_t p = start; p < end; ++p)
        positions.push_back(static_cast<int32_t>(first + p));
      // Logits of the last step's last row; earlier ones unused: the cheapest row.
      const int32_t row = end == count ? static_cast<int32_t>(end - start - 1) : 0;
      if (!model->step(part, positions, {row}, logits, error))
        return false;
      afterStep(end);
    }
    return true;
  };
  auto prefill = [&]() -> double {
    auto prefillStart = Clock::now();
    bool fed = feed(fresh, static_cast<int32_t>(reused), o.batch, [&](int64_t end) {
      if (progress) {
        std::fprintf(stderr, tty ? "\rprefill %lld/%lld tokens" : "prefill %lld/%lld tokens\n",
                     static_cast<long long>(reused + end), static_cast<long long>(promptTokens));
        std::fflush(stderr);
      }
    });
    if (!fed)
      return -1;
    if (progress && tty)
      std::fputc('\n', stderr);
    return std::chrono::duration<double, std::milli>(Clock::now() - prefillStart).count();
  };
  std::vector<double> ttfts;
  for (int64_t run = 0; run < o.warmup + o.repeat; ++run) {
    if (run > 0)
      model->reset();
    if (run == o.warmup && o.warmup > 0)
      model->restartProfile(); // LAZYC_CUDA_PROFILE: the timed prefills and what follows
    double ms = prefill();
    if (ms < 0)
      return fail(error);
    if (run >= o.warmup)
      ttfts.push_back(ms);
  }
  // The median (a first run also pays for warm-up: allocator, GEMM plans).
  double ttftMs = median(ttfts);
  // (A session restored whole is unchanged: not written again. A
  // conversation is saved after each answer instead.)
  if (!o.sessionFile.empty() && !conversationMode && reused < promptTokens &&
      !model->saveSession(o.sessionFile, ids, logits, error))
    return fail(error);
  // The tokens in the cache, position by position (a conversation's session).
  std::vector<int32_t> history = ids;
  if (logitsOut &&
      (std::fwrite(logits.data(), sizeof(float), logits.size(), logitsOut) != logits.size() ||
       std::fclose(logitsOut) != 0))
    return fail("cannot write '" + o.logitsFile + "'");
  StepStats prefillStats = model->stats();

  Sampler sampler(o.sampling);
  // --continue samples on from where the saved conversation stopped (the
  // same draws as one run asking every question) unless --seed says otherwise.
  if (o.continuing && !o.seedGiven && !resumed.sampler.empty() && !sampler.restore(resumed.sampler))
    return fail("session '" + o.sessionFile + "': the sampler's saved state is malformed");
  int32_t position = static_cast<int32_t>(promptTokens); // the next position to feed
  auto answer = [&](Answer &a, FILE *stepLogits) -> bool {
    double logitsWriteMs = 0;
    auto decodeStart = Clock::now();
    int32_t next = sampler.sample(logits.data(), model->info().vocabSize);
    for (int64_t i = 0; i < o.nPredict; ++i) {
      if (!o.ignoreEos && tok && tok->isEndOfGeneration(next))
        break;
      std::string piece = tok ? tok->tokenText(next) : " " + std::to_string(next);
      a.text += piece;
      a.ids.push_back(next);
      if (!o.json) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
      }
      if (i + 1 == o.nPredict) {
        a.pending = next;
        break;
      }
      auto stepStart = Clock::now();
      if (!model->step({next}, {position}, {0}, logits, error))
        return false;
      ++position;
      history.push_back(next);
      a.stepMs.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - stepStart).count());
      if (stepLogits) {
        auto writeStart = Clock::now();
        if (std::fwrite(logits.data(), sizeof(float), logits.size(), stepLogits) !=
            logits.size()) {
          error = "cannot write '" + o.decodeLogitsFile + "'";
          return false;
        }
        logitsWriteMs +=
            std::chrono::duration<double, std::milli>(Clock::now() - writeStart).count();
      }
      const StepStats stepStats = model->stats();
      a.revived += sum(stepStats.revived);
      a.stepTokenLayers.push_back(sum(stepStats.computed));
      next = sampler.sample(logits.data(), model->info().vocabSize);
    }
    a.decodeMs =
        std::chrono::duration<double, std::milli>(Clock::now() - decodeStart).count() -
        logitsWriteMs;
    return true;
  };
  Answer first; // --continue: the restored conversation's last answer
  if (o.continuing) {
    first.text = resumed.answer;
    first.pending = resumed.pending;
  } else if (!answer(first, decodeLogits)) {
    return fail(error);
  }
  // The first answer's last step (the report's largest per-layer count and
  // Aux Cache).
  StepStats last = model->stats();
  if (!o.json && !o.continuing)
    std::fputc('\n', stdout);
  // --interactive on a terminal: each turn's timings after its answer.
  auto printTurn = [&](const char *what, int64_t tokens, double ms, int64_t stepRevived,
                       const Answer &a) {
    const auto n = static_cast<int64_t>(a.ids.size());
    std::string revivedText;
    if (info.pruned)
      revivedText = ", " + std::to_string(stepRevived + a.revived) + " revived token-layers";
    const std::string rate =
        n > 1 ? " at " + std::to_string(std::lround(a.tokensPerSecond())) + " tokens/s" : "";
    std::fprintf(stderr, "[%s: %lld tokens in %.0f ms; answer: %lld tokens%s%s]\n", what,
                 static_cast<long long>(tokens), ms, static_cast<long long>(n), rate.c_str(),
                 revivedText.c_str());
  };
  if (o.interactive && terminal && !o.continuing)
    printTurn("prompt", promptTokens, ttftMs, 0, first);

  // Follow-up questions, each one step over its tokens at the next positions
  // (a dense model's in --batch chunks) and an answer. A pruned model selects
  // S_{l+1} again with the question's rows and revives from the Aux Cache what
  // it needs: what the first prefill skipped can come back now.
  std::deque<FollowUp> followUpTurns; // `previous` points into it
  std::vector<ChatMessage> conversation = opening;
  if (o.continuing)
    conversation = resumed.messages;
  Answer *previous = &first;
  size_t questionsAnswered = o.continuing ? resumed.questions : 0;
  // --session with questions: the conversation after each answer.
  auto saveConversation = [&]() -> bool {
    if (o.sessionFile.empty() || !conversationMode)
      return true;
    Conversation state;
    state.chat = o.chat;
    if (o.chat)
      state.messages = conversation; // (unused without --chat)
    state.answer = previous->text;
    state.pending = previous->pending;
    state.questions = questionsAnswered;
    state.sampler = sampler.state();
    return model->saveSession(o.sessionFile, history, logits, error, state.json());
  };
  if (!o.continuing && !saveConversation())
    return fail(error);
  // One follow-up turn: the question's step and its answer. A question the
  // context cannot hold sets `error` and returns Refused with nothing changed
  // (--interactive: the next one may be shorter).
  enum class Turn { Answered, Refused, Failed };
  auto ask = [&](const std::string &question, bool typed) -> Turn {
    std::vector<int32_t> questionIds;
    if (previous->pending >= 0)
      questionIds.push_back(previous->pending);
    std::string questionText = question;
    if (o.chat) {
      // The template's text between the previous answer and the new one: the
      // answer's end of turn, the user turn, the assistant prompt.
      static const std::string kMark = "\x01lazyc-answer\x01";
      std::vector<ChatMessage> turns = conversation;
      turns.push_back({"assistant", kMark});
      turns.push_back({"user", question});
      std::string rendered;
      if (!tok->applyChatTemplate(turns, true, rendered, error, o.templateKwargs.get()))
        return Turn::Failed;
      size_t at = rendered.rfind(kMark);
      if (at == std::string::npos) {
        error = "the chat template dropped the assistant's answer: follow-up questions need "
                "a template that renders the conversation";
        return Turn::Failed;
      }
      questionText = rendered.substr(at + kMark.size());
    }
    std::vector<int32_t> encoded;
    if (!tok->encode(questionText, encoded, error, false))
      return Turn::Failed;
    questionIds.insert(questionIds.end(), encoded.begin(), encoded.end());
    const int64_t need = position + static_cast<int64_t>(questionIds.size()) + o.nPredict;
    if (need > model->context()) {
      error = "follow-up " + std::to_string(followUpTurns.size() + 1) + " (" +
              std::to_string(questionIds.size()) + " tokens after " + std::to_string(position) +
              " in the context) plus " + std::to_string(o.nPredict) +
              " generated tokens exceeds the context of " + std::to_string(model->context()) +
              " tokens (use --ctx or fewer follow-ups)";
      return Turn::Refused;
    }
    if (o.chat) {
      conversation.push_back({"assistant", previous->text});
      conversation.push_back({"user", question});
    }
    if (!o.json && !(typed && terminal)) { // a question typed in is on the screen
      std::printf("\n> %s\n", question.c_str());
      std::fflush(stdout);
    }
    FollowUp turn;
    turn.question = question;
    turn.tokens = static_cast<int64_t>(questionIds.size());
    auto start = Clock::now();
    bool fed = feed(questionIds, position, info.pruned ? turn.tokens : o.batch, [&](int64_t) {
      const StepStats stepStats = model->stats();
      turn.tokenLayers += sum(stepStats.computed);
      turn.revived += sum(stepStats.revived);
    });
    if (!fed)
      return Turn::Failed;
    history.insert(history.end(), questionIds.begin(), questionIds.end());
    position += static_cast<int32_t>(turn.tokens);
    turn.ttftMs = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    followUpTurns.push_back(std::move(turn));
    FollowUp &asked = followUpTurns.back();
    if (!answer(asked.reply, nullptr))
      return Turn::Failed;
    if (!o.json)
      std::fputc('\n', stdout);
    if (typed && terminal)
      printTurn("question", asked.tokens, asked.ttftMs, asked.revived, asked.reply);
    previous = &asked.reply;
    ++questionsAnswered;
    return saveConversation() ? Turn::Answered : Turn::Failed;
  };
  for (const std::string &question : o.followUps)
    if (ask(question, false) != Turn::Answered)
      return fail(error);
  // --interactive: questions from stdin until its end. One the context cannot
  // hold is refused (the exit status says so) and the next one read.
  bool refused = false;
  for (std::string question; o.interactive && readQuestion(terminal, question);) {
    switch (ask(question, true)) {
    case Turn::Answered:
      break;
    case Turn::Refused: {
      refused = true;
      const int64_t room = model->context() - position - o.nPredict;
      fail(error + (room > 1 ? "; " + std::to_string(room) + " positions are left for a question"
                             : "; the context is full"));
      break;
    }
    case Turn::Failed:
      return fail(error);
    }
  }
  if (decodeLogits && std::fclose(decodeLogits) != 0)
    return fail("cannot write '" + o.decodeLogitsFile + "'");
  if (!o.json)
    return refused ? 1 : 0;
  Report report{info, prefillStats, last, promptTokens, static_cast<int64_t>(fresh.size()),
                reused, loadMs, ttftMs, sessionMs, ttfts, first, followUpTurns,
                model->deviceName(), model->attentionInfo(), o.continuing};
  printReport(report);
  return refused ? 1 : 0;
}

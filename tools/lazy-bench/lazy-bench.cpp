//===- lazy-bench.cpp - dense vs pruned: TTFT and accuracy -----------------===//
//
//   lazy-bench -m MODEL --dense dense.so --variant NAME=pruned.so ... \
//              [--lengths 1024,2048,4096,8192] [--needle-length 4096] \
//              [--agree-length 2048] [--json out.json] [--svg DIR]
//
// Runs every compiled model of one model file side by side, in one process:
//  * TTFT: prefill of a real-text prompt of each length, one step (pruned
//    models prefill in one step; the dense model is timed the same way, and
//    also in 512-token batches, lazy-run's default), the share of prompt
//    token-layers computed, the selection overhead (scores, selection, Aux
//    Cache kernels) and |S_l| per layer.
//  * needle: pass-key retrieval; the key is hidden at several depths of a
//    haystack of real text; exact match of the first number generated.
//  * agreement with the dense model, teacher-forced on the dense model's
//    greedy continuation: first generated token identical, the share of the
//    continuation generated identically before the first divergence (what
//    the model's own greedy continuation would match), and the mean KL of
//    the next-token distributions KL(dense || pruned).
//  * followup: two facts hidden in one haystack (a pass key and, 45% of the
//    prompt further on, wrapping around, a secret word); the prompt asks for
//    the key, then a follow-up question in the same context asks for the
//    word — one step over the question's tokens, as lazy-run --follow-up
//    runs it. What the first question's pruning skipped must come back:
//    LazyLLM revives it from the Aux Cache, static pruning cannot.
//  * generate: prompt to N-th token, end to end (prefill + N - 1 greedy
//    decode steps), timed alternately with the dense model: where a pruned
//    model's decode steps pay for the tokens they revive (LazyLLM computes
//    each skipped token-layer at most once, but later, in small batches).
// Prints a table, writes JSON and SVG plots. Builds without LLVM/MLIR.
//
//===----------------------------------------------------------------------===//

#include "runtime/Runtime.h"
#include "runtime/model/Json.h"
#include "runtime/model/Tokenizer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace lazyc::rt;
using Clock = std::chrono::steady_clock;

namespace {

/// `value` in the shortest form printf's %g gives (64, 0.5, nan).
std::string formatNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", value);
  return buffer;
}

const char *kUsage =
    "usage: lazy-bench -m MODEL --dense DENSE.so [--variant NAME=PRUNED.so ...] [options]\n"
    "  -m, --model PATH       the model file the .so files were compiled from\n"
    "      --dense PATH       the dense compiled model (the baseline)\n"
    "      --variant N=PATH   a pruned compiled model, labelled N (repeatable)\n"
    "      --text PATH        real text for prompts and haystacks (repeatable; default:\n"
    "                         licenses in /usr/share/common-licenses)\n"
    "      --lengths L,...    TTFT prompt lengths in tokens (default 1024,2048,4096,8192)\n"
    "      --ttft-variants N,...  variants timed at every length (default: all)\n"
    "      --needle-length L  haystack length of the pass-key task (default 4096)\n"
    "      --depths D,...     needle depths (default 0.1,0.3,0.5,0.7,0.9)\n"
    "      --agree-length L   prompt length of the agreement task (default 2048)\n"
    "      --agree-prompts K  prompts of the agreement task (default 3)\n"
    "      --continuation N   teacher-forced continuation length (default 32)\n"
    "      --generate-length L  prompt length of the generate task (default 2048)\n"
    "      --generate-tokens N  tokens generated after it (default 64)\n"
    "      --repeat R         timed runs of each TTFT length, paired TTFT and generate\n"
    "                         run; the fastest is kept (default 1)\n"
    "      --tasks T,...      ttft,needle,agree,generate,followup (default: all; followup:\n"
    "                         a second question in the same context, at the needle\n"
    "                         length and depths)\n"
    "      --json PATH        write the results as JSON\n"
    "      --svg DIR          write speedup-vs-accuracy and kept-tokens plots\n";

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "lazy-bench: error: %s\n", message.c_str());
  std::exit(1);
}

std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, sep))
    if (!item.empty())
      out.push_back(item);
  return out;
}

std::vector<double> numbers(const std::string &s, const char *flag) {
  std::vector<double> out;
  for (const std::string &item : split(s, ',')) {
    char *end = nullptr;
    double v = std::strtod(item.c_str(), &end);
    if (!end || *end)
      die(std::string(flag) + " expects comma-separated numbers, got '" + s + "'");
    out.push_back(v);
  }
  return out;
}

double ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

template <typename T> std::string jsonArray(const std::vector<T> &values) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < values.size(); ++i)
    os << (i ? ", " : "") << values[i];
  os << "]";
  return os.str();
}

std::vector<int32_t> iota(int64_t begin, int64_t count) {
  std::vector<int32_t> out(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    out[i] = static_cast<int32_t>(begin + i);
  return out;
}

struct TTFT {
  int64_t length = 0;
  double ms = 0, chunkedMs = 0; // chunkedMs: dense only
  double share = 1, selectMs = 0;
  std::vector<int64_t> kept;
};

struct NeedleRun {
  double depth;
  std::string key, answer;
  bool hit;
};

struct FollowUpRun {
  double keyDepth, wordDepth;
  std::string key, word, keyAnswer, wordAnswer;
  bool keyHit, wordHit;
  double questionMs, share; // share: of the prompt's token-layers its prefill computed
  int64_t questionTokenLayers, revived; // the question's step and its answer's steps
};

struct Agreement {
  double firstToken = 0, continuation = 0, meanKL = 0;
};

/// One prompt-to-N-th-token run: prefill, then greedy decode steps.
struct Generation {
  double ttftMs = 1e30, decodeMs = 0, totalMs = 1e30;
  int64_t decodeTokenLayers = 0; // over the decode steps (dense: steps x layers)
  double share = 1;               // prompt token-layers the prefill computed
};

struct Result {
  std::string name, library, policy = "dense", schedule;
  int64_t scoreWindow = 1, scorePool = 1, minKeep = 0;
  double reuseBias = 1; // lazy-compile --reuse-bias
  std::string kvCache = "f32"; // the KV cache's storage (lazy-compile --kv-cache)
  std::vector<TTFT> ttft;
  std::vector<NeedleRun> needle;
  double needleAccuracy = 0, needleTTFT = 0, needleShare = 1;
  // TTFT at the needle length, timed alternately with the dense model
  // (fastest of `repeat` pairs): robust to a drifting machine.
  double pairedMs = 0, pairedDenseMs = 0;
  std::vector<int64_t> needleKept;
  std::vector<FollowUpRun> followUp;
  Agreement agree;
  // generate: this model's fastest run and the dense model's, alternately.
  Generation gen, genDense;
  bool haveNeedle = false, haveAgree = false, haveGenerate = false, haveFollowUp = false;
  double followUpAccuracy() const { return share(&FollowUpRun::wordHit); }
  double followUpKeyAccuracy() const { return share(&FollowUpRun::keyHit); }
  double share(bool FollowUpRun::*hit) const {
    double hits = 0;
    for (const FollowUpRun &f : followUp)
      hits += f.*hit ? 1 : 0;
    return followUp.empty() ? 0 : hits / static_cast<double>(followUp.size());
  }
};

/// The dense model's teacher-forced run of one agreement prompt.
struct DenseTrace {
  std::vector<int32_t> prompt, continuation;
  std::vector<std::vector<float>> logProbs; // per position: prefill + continuation
};

std::vector<float> logSoftmax(const std::vector<float> &logits) {
  float m = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float v : logits)
    sum += std::exp(static_cast<double>(v - m));
  float log = m + static_cast<float>(std::log(sum));
  std::vector<float> out(logits.size());
  for (size_t i = 0; i < logits.size(); ++i)
    out[i] = logits[i] - log;
  return out;
}

double kl(const std::vector<float> &p, const std::vector<float> &q) {
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i)
    sum += std::exp(static_cast<double>(p[i])) * (p[i] - q[i]);
  return std::max(0.0, sum);
}

/// Share of the step's token-layers computed (the paper's Table 2 measure).
double computedShare(const StepStats &s, int64_t layers, int64_t tokens) {
  int64_t computed = 0;
  for (int64_t c : s.computed)
    computed += c;
  return static_cast<double>(computed) / (static_cast<double>(layers) * tokens);
}

/// The offset just after the line break nearest before `depth` (a share of
/// `text`), or 0: where a needle goes in.
size_t lineBreakNear(const std::string &text, double depth) {
  size_t cut = text.rfind('\n', static_cast<size_t>(depth * static_cast<double>(text.size())));
  return cut == std::string::npos ? 0 : cut + 1;
}

/// The first run of digits in `answer` ("" if none): a pass key's match.
std::string firstNumber(const std::string &answer) {
  size_t d = answer.find_first_of("0123456789");
  std::string number;
  while (d != std::string::npos && d < answer.size() && std::isdigit(answer[d]))
    number += answer[d++];
  return number;
}

int32_t argmax(const std::vector<float> &v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

class Bench {
public:
  std::string modelPath;
  std::vector<int32_t> corpus; // the text, tokenized
  std::vector<int64_t> lengths = {1024, 2048, 4096, 8192};
  std::vector<std::string> ttftVariants;
  int64_t needleLength = 4096, agreeLength = 2048, agreePrompts = 3, continuation = 32;
  int64_t generateLength = 2048, generateTokens = 64;
  std::vector<double> depths = {0.1, 0.3, 0.5, 0.7, 0.9};
  int repeat = 1;
  bool doTTFT = true, doNeedle = true, doAgree = true, doGenerate = true, doFollowUp = true;
  std::vector<DenseTrace> traces;
  const Tokenizer *tok = nullptr;

  std::unique_ptr<CompiledModel> load(const std::string &library, int64_t context) {
    std::string error;
    auto model = CompiledModel::load(library, modelPath, context, error);
    if (!model)
      die(library + ": " + error);
    // Warm up (first-touch page faults, thread pools) before anything is timed.
    std::vector<int32_t> warm(256, 0);
    for (size_t i = 0; i < warm.size(); ++i)
      warm[i] = static_cast<int32_t>(i + 100);
    step(*model, warm, 0);
    model->reset();
    return model;
  }

  std::vector<float> step(CompiledModel &m, const std::vector<int32_t> &tokens, int64_t start) {
    std::vector<float> logits;
    std::string error;
    if (!m.step(tokens, iota(start, static_cast<int64_t>(tokens.size())),
                {static_cast<int32_t>(tokens.size() - 1)}, logits, error))
      die(error);
    size_t vocab = static_cast<size_t>(m.info().vocabSize);
    return std::vector<float>(logits.end() - static_cast<std::ptrdiff_t>(vocab), logits.end());
  }

  std::vector<int32_t> prompt(int64_t offset, int64_t length) {
    if (offset + length > static_cast<int64_t>(corpus.size()))
      die("the text has " + std::to_string(corpus.size()) + " tokens; " +
          std::to_string(offset + length) + " needed (add --text files)");
    return std::vector<int32_t>(corpus.begin() + offset, corpus.begin() + offset + length);
  }

  void measureTTFT(CompiledModel &m, Result &r, bool dense) {
    for (int64_t length : lengths) {
      std::vector<int32_t> tokens = prompt(0, length);
      TTFT t;
      t.length = length;
      t.ms = 1e30;
      for (int i = 0; i < repeat; ++i) {
        m.reset();
        auto start = Clock::now();
        step(m, tokens, 0);
        double elapsed = ms(start);
        if (elapsed < t.ms) {
          t.ms = elapsed;
          StepStats s = m.stats();
          t.share = computedShare(s, m.info().layers, length);
          t.selectMs = s.selectSeconds * 1e3;
          t.kept = s.keys;
        }
      }
      if (dense) { // lazy-run's default: 512-token batches
        t.chunkedMs = 1e30;
        for (int i = 0; i < repeat; ++i) {
          m.reset();
          auto start = Clock::now();
          for (int64_t b = 0; b < length; b += 512)
            step(m, std::vector<int32_t>(tokens.begin() + b,
                                         tokens.begin() + std::min(length, b + 512)),
                 b);
          t.chunkedMs = std::min(t.chunkedMs, ms(start));
        }
      }
      std::fprintf(stderr, "  %-22s TTFT %6lld tokens: %9.1f ms (share %.3f, selection %.1f ms)\n",
                   r.name.c_str(), static_cast<long long>(length), t.ms, t.share, t.selectMs);
      r.ttft.push_back(t);
    }
  }

  /// Times `m` and `dense` alternately on the same prompt of the needle
  /// length (one step each), keeping the fastest run of each.
  void paired(CompiledModel &m, CompiledModel &dense, Result &r) {
    std::vector<int32_t> tokens = prompt(0, needleLength);
    r.pairedMs = r.pairedDenseMs = 1e30;
    for (int i = 0; i < repeat; ++i)
      for (CompiledModel *model : {&dense, &m}) {
        model->reset();
        auto start = Clock::now();
        step(*model, tokens, 0);
        double elapsed = ms(start);
        double &best = model == &m ? r.pairedMs : r.pairedDenseMs;
        best = std::min(best, elapsed);
      }
    std::fprintf(stderr, "  %-22s paired TTFT %lld tokens: %.1f ms vs dense %.1f ms (%.2fx)\n",
                 r.name.c_str(), static_cast<long long>(needleLength), r.pairedMs,
                 r.pairedDenseMs, r.pairedDenseMs / r.pairedMs);
  }

  void needle(CompiledModel &m, Result &r) {
    std::string error;
    const std::string intro = "There is an important info hidden inside a lot of irrelevant "
                              "text. Find it and memorize it. I will quiz you about the "
                              "important information there.\n\n";
    const std::string question = "\n\nWhat is the pass key? The pass key is";
    int hits = 0;
    double ttft = 0, share = 0;
    std::mt19937 rng(1234);
    for (double depth : depths) {
      std::string key = std::to_string(10000 + rng() % 90000);
      std::string needleText =
          "\n\nThe pass key is " + key + ". Remember it. " + key + " is the pass key.\n\n";
      // The haystack: real text, as many tokens as leave room for the rest;
      // the needle goes in at a line break near the depth, and the whole
      // prompt is tokenized as one text.
      const std::string hay = haystack(intro + needleText + question);
      const size_t cut = lineBreakNear(hay, depth);
      std::vector<int32_t> tokens;
      if (!tok->encode(intro + hay.substr(0, cut) + needleText + hay.substr(cut) + question,
                       tokens, error))
        die(error);
      m.reset();
      auto start = Clock::now();
      std::vector<float> logits = step(m, tokens, 0);
      ttft += ms(start);
      StepStats s = m.stats();
      share += computedShare(s, m.info().layers, static_cast<int64_t>(tokens.size()));
      r.needleKept = s.keys;
      int64_t position = static_cast<int64_t>(tokens.size());
      const std::string answer = greedyAnswer(m, logits, position, 8, false, nullptr);
      // Exact match: the first number generated is the key.
      bool hit = firstNumber(answer) == key;
      hits += hit;
      r.needle.push_back({depth, key, answer, hit});
      std::fprintf(stderr, "  %-22s needle depth %.2f: key %s, answer '%s' %s\n", r.name.c_str(),
                   depth, key.c_str(), jsonEscape(answer).c_str(), hit ? "ok" : "MISS");
    }
    r.haveNeedle = true;
    r.needleAccuracy = static_cast<double>(hits) / static_cast<double>(depths.size());
    r.needleTTFT = ttft / static_cast<double>(depths.size());
    r.needleShare = share / static_cast<double>(depths.size());
  }

  /// Real text of the needle length less the tokens of `around` (what the
  /// task adds to it), decoded: a haystack to insert into.
  std::string haystack(const std::string &around) {
    std::string error, hay;
    std::vector<int32_t> overhead;
    tok->encode(around, overhead, error);
    tok->decode(prompt(0, needleLength - static_cast<int64_t>(overhead.size())), hay, error);
    return hay;
  }

  /// Greedy answer of `count` tokens to the step whose logits are given,
  /// each fed back from `position` on (the last one only with `feedLast`);
  /// adds the decode steps' token-layers.
  std::string greedyAnswer(CompiledModel &m, std::vector<float> logits, int64_t &position,
                           int count, bool feedLast, int64_t *tokenLayers) {
    std::vector<int32_t> generated;
    for (int i = 0; i < count; ++i) {
      generated.push_back(argmax(logits));
      if (i + 1 == count && !feedLast)
        break;
      logits = step(m, {generated.back()}, position++);
      if (tokenLayers)
        for (int64_t c : m.stats().computed)
          *tokenLayers += c;
    }
    std::string answer, error;
    tok->decode(generated, answer, error);
    return answer;
  }

  void followUp(CompiledModel &m, Result &r) {
    static const char *kWords[] = {"lighthouse", "cinnamon", "volcano",  "harpsichord",
                                   "tangerine",  "glacier",  "saxophone", "meadow",
                                   "compass",    "lantern"};
    std::string error;
    const std::string intro = "There is important info hidden inside a lot of irrelevant "
                              "text. Find it and memorize it. I will quiz you about the "
                              "important information there.\n\n";
    const std::string question = "\n\nWhat is the pass key? The pass key is",
                      followUpText = "\n\nWhat is the secret word? The secret word is";
    std::mt19937 rng(4321);
    for (double depth : depths) {
      FollowUpRun f{};
      f.keyDepth = depth;
      f.wordDepth = std::fmod(depth + 0.45, 1.0);
      f.key = std::to_string(10000 + rng() % 90000);
      f.word = kWords[rng() % (sizeof(kWords) / sizeof(kWords[0]))];
      const std::string keyText =
          "\n\nThe pass key is " + f.key + ". Remember it. " + f.key + " is the pass key.\n\n";
      const std::string wordText = "\n\nThe secret word is " + f.word + ". Remember it. " +
                                   f.word + " is the secret word.\n\n";
      const std::string hay = haystack(intro + keyText + wordText + question);
      // Both inserted at line breaks near their depths.
      const bool keyFirst = f.keyDepth <= f.wordDepth;
      const size_t early = lineBreakNear(hay, std::min(f.keyDepth, f.wordDepth)),
                   late = std::max(early, lineBreakNear(hay, std::max(f.keyDepth, f.wordDepth)));
      std::string text = intro + hay.substr(0, early) + (keyFirst ? keyText : wordText) +
                         hay.substr(early, late - early) + (keyFirst ? wordText : keyText) +
                         hay.substr(late) + question;
      std::vector<int32_t> tokens, questionTokens;
      if (!tok->encode(text, tokens, error) || !tok->encode(followUpText, questionTokens, error))
        die(error);
      m.reset();
      int64_t position = static_cast<int64_t>(tokens.size());
      std::vector<float> first = step(m, tokens, 0);
      f.share = computedShare(m.stats(), m.info().layers, static_cast<int64_t>(tokens.size()));
      f.keyAnswer = greedyAnswer(m, first, position, 8, true, nullptr);
      // The follow-up: one step over the question's tokens after the answer.
      auto start = Clock::now();
      std::vector<float> logits = step(m, questionTokens, position);
      f.questionMs = ms(start);
      for (int64_t c : m.stats().computed)
        f.questionTokenLayers += c;
      position += static_cast<int64_t>(questionTokens.size());
      int64_t answerTokenLayers = 0;
      f.wordAnswer = greedyAnswer(m, logits, position, 8, true, &answerTokenLayers);
      // Token-layers beyond a dense model's: the question's rows at every
      // layer, one row per layer for each answer step.
      f.revived = f.questionTokenLayers + answerTokenLayers -
                  m.info().layers * static_cast<int64_t>(questionTokens.size() + 8);
      auto firstWord = [](const std::string &answer) {
        size_t b = answer.find_first_not_of(" \"'\n\t");
        size_t e = answer.find_first_not_of("abcdefghijklmnopqrstuvwxyz", b);
        return b == std::string::npos ? std::string() : answer.substr(b, e - b);
      };
      f.keyHit = firstNumber(f.keyAnswer) == f.key;
      f.wordHit = firstWord(f.wordAnswer) == f.word;
      std::fprintf(stderr,
                   "  %-22s follow-up: key %s at %.2f '%s' %s; word %s at %.2f '%s' %s "
                   "(question %.1f ms, %lld token-layers beyond dense)\n",
                   r.name.c_str(), f.key.c_str(), f.keyDepth, jsonEscape(f.keyAnswer).c_str(),
                   f.keyHit ? "ok" : "MISS", f.word.c_str(), f.wordDepth,
                   jsonEscape(f.wordAnswer).c_str(), f.wordHit ? "ok" : "MISS", f.questionMs,
                   static_cast<long long>(f.revived));
      r.followUp.push_back(f);
    }
    r.haveFollowUp = true;
  }

  /// Prompt to the generateTokens-th token: one prefill step, then greedy
  /// decode steps.
  Generation generateOnce(CompiledModel &m) {
    std::vector<int32_t> tokens = prompt(0, generateLength);
    Generation g;
    m.reset();
    auto start = Clock::now();
    std::vector<float> logits = step(m, tokens, 0);
    g.ttftMs = ms(start);
    g.share = computedShare(m.stats(), m.info().layers, generateLength);
    for (int64_t i = 1; i < generateTokens; ++i) {
      logits = step(m, {argmax(logits)}, generateLength + i - 1);
      for (int64_t c : m.stats().computed)
        g.decodeTokenLayers += c;
    }
    g.totalMs = ms(start);
    g.decodeMs = g.totalMs - g.ttftMs;
    return g;
  }

  /// generateOnce for `m` and `dense` alternately, the fastest of `repeat`
  /// runs of each (dense alone when m is the dense model).
  void generate(CompiledModel &m, CompiledModel &dense, Result &r) {
    const bool isDense = &m == &dense;
    for (int i = 0; i < repeat; ++i) {
      if (!isDense) {
        Generation g = generateOnce(dense);
        if (g.totalMs < r.genDense.totalMs)
          r.genDense = g;
      }
      Generation g = generateOnce(m);
      if (g.totalMs < r.gen.totalMs)
        r.gen = g;
    }
    if (isDense)
      r.genDense = r.gen;
    r.haveGenerate = true;
    std::fprintf(stderr,
                 "  %-22s generate %lld + %lld tokens: %.1f ms (TTFT %.1f, decode %.1f, %lld "
                 "token-layers) vs dense %.1f ms (%.2fx)\n",
                 r.name.c_str(), static_cast<long long>(generateLength),
                 static_cast<long long>(generateTokens), r.gen.totalMs, r.gen.ttftMs,
                 r.gen.decodeMs, static_cast<long long>(r.gen.decodeTokenLayers),
                 r.genDense.totalMs, r.genDense.totalMs / r.gen.totalMs);
  }

  /// Dense: greedy continuation and its distributions (the teacher).
  void traceDense(CompiledModel &m) {
    int64_t stride = std::max<int64_t>(1, (static_cast<int64_t>(corpus.size()) - agreeLength) /
                                              std::max<int64_t>(1, agreePrompts));
    for (int64_t k = 0; k < agreePrompts; ++k) {
      DenseTrace t;
      t.prompt = prompt(k * stride, agreeLength);
      m.reset();
      std::vector<float> logits = step(m, t.prompt, 0);
      for (int64_t i = 0; i <= continuation; ++i) {
        t.logProbs.push_back(logSoftmax(logits));
        if (i == continuation)
          break;
        t.continuation.push_back(argmax(logits));
        logits = step(m, {t.continuation.back()}, agreeLength + i);
      }
      traces.push_back(std::move(t));
    }
  }

  void agree(CompiledModel &m, Result &r) {
    double first = 0, cont = 0, klSum = 0;
    int64_t klCount = 0;
    for (const DenseTrace &t : traces) {
      m.reset();
      std::vector<float> logits = step(m, t.prompt, 0);
      int64_t same = 0;
      bool diverged = false;
      for (int64_t i = 0; i <= continuation; ++i) {
        std::vector<float> lp = logSoftmax(logits);
        klSum += kl(t.logProbs[i], lp);
        ++klCount;
        if (i == continuation)
          break;
        if (!diverged && argmax(logits) == t.continuation[i])
          ++same;
        else
          diverged = true;
        logits = step(m, {t.continuation[i]}, agreeLength + i);
      }
      cont += static_cast<double>(same) / static_cast<double>(continuation);
      // The first generated token agrees iff the continuation's first does.
      first += same > 0 ? 1 : 0;
    }
    double n = static_cast<double>(traces.size());
    r.agree = {first / n, cont / n, klSum / static_cast<double>(klCount)};
    r.haveAgree = true;
    std::fprintf(stderr, "  %-22s agreement: first token %.2f, continuation %.2f, mean KL %.4f\n",
                 r.name.c_str(), r.agree.firstToken, r.agree.continuation, r.agree.meanKL);
  }
};

//===----------------------------------------------------------------------===//
// SVG plots
//===----------------------------------------------------------------------===//

const char *policyColor(const std::string &policy) {
  static const std::map<std::string, const char *> colors = {
      {"dense", "#222222"}, {"lazyllm", "#d62728"}, {"random", "#1f77b4"},
      {"static", "#2ca02c"}, {"streaming", "#9467bd"}};
  auto it = colors.find(policy);
  return it == colors.end() ? "#ff7f0e" : it->second;
}

struct Point {
  double x, y;
  std::string label, policy;
};

void scatter(const std::string &path, const std::string &title, const std::string &xLabel,
             const std::string &yLabel, const std::vector<Point> &points, double yMax) {
  const double W = 640, H = 420, L = 70, R = 150, T = 40, B = 50;
  double xMax = 1;
  for (const Point &p : points)
    xMax = std::max(xMax, p.x);
  xMax = std::ceil(xMax * 1.1 * 2) / 2;
  auto X = [&](double x) { return L + x / xMax * (W - L - R); };
  auto Y = [&](double y) { return H - B - y / yMax * (H - T - B); };
  std::ofstream out(path);
  out << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H
      << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' "
         "fill='white'/>\n";
  out << "<text x='" << W / 2 << "' y='22' text-anchor='middle' font-size='15'>" << title
      << "</text>\n";
  out << "<line x1='" << L << "' y1='" << H - B << "' x2='" << W - R << "' y2='" << H - B
      << "' stroke='black'/>\n<line x1='" << L << "' y1='" << T << "' x2='" << L << "' y2='"
      << H - B << "' stroke='black'/>\n";
  for (int i = 0; i <= 5; ++i) {
    double xv = xMax * i / 5, yv = yMax * i / 5;
    out << "<text x='" << X(xv) << "' y='" << H - B + 16 << "' text-anchor='middle'>"
        << std::round(xv * 100) / 100 << "</text>\n";
    out << "<text x='" << L - 6 << "' y='" << Y(yv) + 4 << "' text-anchor='end'>"
        << std::round(yv * 100) / 100 << "</text>\n";
    out << "<line x1='" << L << "' y1='" << Y(yv) << "' x2='" << W - R << "' y2='" << Y(yv)
        << "' stroke='#dddddd'/>\n";
  }
  out << "<text x='" << (L + W - R) / 2 << "' y='" << H - 12 << "' text-anchor='middle'>"
      << xLabel << "</text>\n<text transform='translate(16," << (T + H - B) / 2
      << ") rotate(-90)' text-anchor='middle'>" << yLabel << "</text>\n";
  for (const Point &p : points) {
    out << "<circle cx='" << X(p.x) << "' cy='" << Y(p.y) << "' r='5' fill='"
        << policyColor(p.policy) << "'/>\n<text x='" << X(p.x) + 7 << "' y='" << Y(p.y) - 6
        << "' font-size='10'>" << p.label << "</text>\n";
  }
  int row = 0;
  for (const char *policy : {"dense", "lazyllm", "random", "static", "streaming"}) {
    out << "<circle cx='" << W - R + 20 << "' cy='" << T + 10 + row * 18 << "' r='5' fill='"
        << policyColor(policy) << "'/><text x='" << W - R + 30 << "' y='" << T + 14 + row * 18
        << "'>" << policy << "</text>\n";
    ++row;
  }
  out << "</svg>\n";
}

void keptPlot(const std::string &path, const std::vector<Result> &results, int64_t length) {
  const double W = 640, H = 420, L = 70, R = 170, T = 40, B = 50;
  size_t layers = 0;
  for (const Result &r : results)
    layers = std::max(layers, r.needleKept.size());
  if (layers < 2)
    return;
  auto X = [&](double l) { return L + l / (layers - 1) * (W - L - R); };
  auto Y = [&](double f) { return H - B - f * (H - T - B); };
  std::ofstream out(path);
  out << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H
      << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' "
         "fill='white'/>\n<text x='"
      << W / 2 << "' y='22' text-anchor='middle' font-size='15'>Kept tokens per layer (|S_l| / "
      << length << ", prefill)</text>\n";
  out << "<line x1='" << L << "' y1='" << H - B << "' x2='" << W - R << "' y2='" << H - B
      << "' stroke='black'/>\n<line x1='" << L << "' y1='" << T << "' x2='" << L << "' y2='"
      << H - B << "' stroke='black'/>\n";
  for (int i = 0; i <= 5; ++i)
    out << "<text x='" << L - 6 << "' y='" << Y(i / 5.0) + 4 << "' text-anchor='end'>" << i / 5.0
        << "</text>\n";
  for (size_t l = 0; l < layers; l += 5)
    out << "<text x='" << X(l) << "' y='" << H - B + 16 << "' text-anchor='middle'>" << l
        << "</text>\n";
  out << "<text x='" << (L + W - R) / 2 << "' y='" << H - 12
      << "' text-anchor='middle'>layer</text>\n";
  int row = 0;
  const char *dashes[] = {"", "6,3", "2,2", "8,3,2,3"};
  for (const Result &r : results) {
    if (r.needleKept.empty())
      continue;
    double total = static_cast<double>(r.needleKept.front());
    out << "<polyline fill='none' stroke-width='2' stroke='" << policyColor(r.policy)
        << "' stroke-dasharray='" << dashes[row % 4] << "' points='";
    for (size_t l = 0; l < r.needleKept.size(); ++l)
      out << X(l) << "," << Y(r.needleKept[l] / total) << " ";
    out << "'/>\n<line x1='" << W - R + 10 << "' y1='" << T + 10 + row * 16 << "' x2='"
        << W - R + 30 << "' y2='" << T + 10 + row * 16 << "' stroke-width='2' stroke='"
        << policyColor(r.policy) << "' stroke-dasharray='" << dashes[row % 4] << "'/><text x='"
        << W - R + 34 << "' y='" << T + 14 + row * 16 << "' font-size='10'>" << r.name
        << "</text>\n";
    ++row;
  }
  out << "</svg>\n";
}

} // namespace

int main(int argc, char **argv) {
  boundOpenMPSpinning(argv);
  Bench bench;
  std::string dense, jsonPath, svgDir;
  std::vector<std::pair<std::string, std::string>> variants;
  std::vector<std::string> texts;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        die(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "-m" || arg == "--model") {
      bench.modelPath = value();
    } else if (arg == "--dense") {
      dense = value();
    } else if (arg == "--variant") {
      std::string v = value();
      size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0)
        die("--variant expects NAME=PATH, got '" + v + "'");
      variants.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (arg == "--text") {
      texts.push_back(value());
    } else if (arg == "--lengths") {
      bench.lengths.clear();
      for (double v : numbers(value(), "--lengths"))
        bench.lengths.push_back(static_cast<int64_t>(v));
    } else if (arg == "--ttft-variants") {
      bench.ttftVariants = split(value(), ',');
    } else if (arg == "--needle-length") {
      bench.needleLength = static_cast<int64_t>(numbers(value(), "--needle-length").at(0));
    } else if (arg == "--depths") {
      bench.depths = numbers(value(), "--depths");
    } else if (arg == "--agree-length") {
      bench.agreeLength = static_cast<int64_t>(numbers(value(), "--agree-length").at(0));
    } else if (arg == "--agree-prompts") {
      bench.agreePrompts = static_cast<int64_t>(numbers(value(), "--agree-prompts").at(0));
    } else if (arg == "--continuation") {
      bench.continuation = static_cast<int64_t>(numbers(value(), "--continuation").at(0));
    } else if (arg == "--repeat") {
      bench.repeat = static_cast<int>(numbers(value(), "--repeat").at(0));
    } else if (arg == "--tasks") {
      std::vector<std::string> tasks = split(value(), ',');
      auto has = [&](const char *t) { return std::find(tasks.begin(), tasks.end(), t) != tasks.end(); };
      for (const std::string &t : tasks)
        if (t != "ttft" && t != "needle" && t != "agree" && t != "generate" && t != "followup")
          die("unknown task '" + t + "' (ttft, needle, agree, generate, followup)");
      bench.doTTFT = has("ttft");
      bench.doNeedle = has("needle");
      bench.doAgree = has("agree");
      bench.doGenerate = has("generate");
      bench.doFollowUp = has("followup");
    } else if (arg == "--generate-length") {
      bench.generateLength = static_cast<int64_t>(numbers(value(), "--generate-length").at(0));
    } else if (arg == "--generate-tokens") {
      bench.generateTokens = static_cast<int64_t>(numbers(value(), "--generate-tokens").at(0));
    } else if (arg == "--json") {
      jsonPath = value();
    } else if (arg == "--svg") {
      svgDir = value();
    } else {
      std::fprintf(stderr, "lazy-bench: error: unknown argument '%s'\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  if (bench.modelPath.empty() || dense.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (bench.repeat < 1 || bench.agreePrompts < 1 || bench.continuation < 1 ||
      bench.generateLength < 1 || bench.generateTokens < 1 || bench.lengths.empty() ||
      bench.depths.empty())
    die("--repeat, --agree-prompts, --continuation, --generate-length, --generate-tokens must "
        "be >= 1; lengths and depths non-empty");
  // Each prompt length and needle depth in range, named (a negative length
  // sized a vector past its maximum and aborted).
  for (int64_t length : bench.lengths)
    if (length < 1)
      die("--lengths: each length must be >= 1 token, got " + std::to_string(length));
  if (bench.needleLength < 1 || bench.agreeLength < 1)
    die("--needle-length and --agree-length must be >= 1 token");
  for (double depth : bench.depths)
    if (!(depth >= 0 && depth <= 1))
      die("--depths: each depth must be in [0, 1] (a share of the prompt), got " +
          formatNumber(depth));
  if (texts.empty())
    // Licenses that never say "key" (GPL-3 does: a distractor for the pass key).
    for (const char *name : {"Apache-2.0", "GPL-2", "LGPL-2.1", "MPL-2.0", "GFDL-1.3",
                             "MPL-1.1", "Artistic", "GPL-1", "CC0-1.0", "LGPL-3"})
      if (std::ifstream("/usr/share/common-licenses/" + std::string(name)).good())
        texts.push_back("/usr/share/common-licenses/" + std::string(name));
  std::string text;
  for (const std::string &path : texts) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
      die("cannot read '" + path + "'");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    text += buffer.str() + "\n\n";
  }
  // Positions the tasks use: prompts, plus the pass-key answer's 8 tokens and
  // the teacher-forced continuation.
  int64_t context = 0;
  if (bench.doTTFT)
    context = *std::max_element(bench.lengths.begin(), bench.lengths.end());
  if (bench.doNeedle)
    context = std::max(context, bench.needleLength + 8);
  if (bench.doFollowUp) // the key's answer, the question, the word's answer
    context = std::max(context, bench.needleLength + 64);
  if (bench.doAgree)
    context = std::max(context, bench.agreeLength + bench.continuation + 1);
  if (bench.doGenerate)
    context = std::max(context, bench.generateLength + bench.generateTokens);

  std::vector<Result> results;
  std::vector<std::unique_ptr<CompiledModel>> keepAlive;
  auto start = Clock::now();
  auto run = [&](const std::string &name, const std::string &library, bool isDense) {
    std::fprintf(stderr, "lazy-bench: %s (%s)\n", name.c_str(), library.c_str());
    auto model = bench.load(library, 0);
    if (isDense && model->info().pruned)
      die("--dense '" + library + "' is a pruned model");
    if (!isDense && !model->info().pruned)
      die("--variant '" + library + "' is a dense model");
    if (model->context() < context)
      die("'" + library + "' is compiled for " + std::to_string(model->context()) +
          " tokens; the tasks need " + std::to_string(context) + " (lazy-compile --ctx)");
    if (!model->hasTokenizer())
      die("lazy-bench tokenizes its prompts: no tokenizer (" + model->noTokenizerReason() + ")");
    if (bench.corpus.empty()) {
      std::string error;
      if (!model->tokenizer().encode(text, bench.corpus, error))
        die(error);
      bench.tok = &model->tokenizer();
    }
    Result r;
    r.name = name;
    r.library = library;
    r.kvCache = model->info().target == "cuda" ? "bf16" : model->info().kvCache;
    if (!isDense) {
      r.policy = model->info().policy;
      r.scoreWindow = model->info().scoreWindow;
      r.scorePool = model->info().scorePool;
      r.reuseBias = model->info().reuseBias;
      r.minKeep = model->info().minKeep;
      for (auto [l, k] : model->info().schedule) {
        std::ostringstream entry;
        entry << l << ":" << k;
        r.schedule += (r.schedule.empty() ? "" : ",") + entry.str();
      }
    }
    bool timed = isDense || bench.ttftVariants.empty() ||
                 std::find(bench.ttftVariants.begin(), bench.ttftVariants.end(), name) !=
                     bench.ttftVariants.end();
    if (bench.doTTFT && timed)
      bench.measureTTFT(*model, r, isDense);
    if (bench.doTTFT && !isDense)
      bench.paired(*model, *keepAlive.front(), r);
    if (bench.doNeedle)
      bench.needle(*model, r);
    if (bench.doAgree) {
      if (isDense)
        bench.traceDense(*model);
      else
        bench.agree(*model, r);
    }
    if (bench.doGenerate)
      bench.generate(*model, isDense ? *model : *keepAlive.front(), r);
    if (bench.doFollowUp)
      bench.followUp(*model, r);
    results.push_back(std::move(r));
    // The tokenizer pointer must outlive this model: keep the dense one.
    if (isDense)
      bench.tok = &keepAlive.emplace_back(std::move(model))->tokenizer();
  };
  run("dense", dense, true);
  for (auto &[name, library] : variants)
    run(name, library, false);
  // The table.
  const Result &base = results.front();
  // The dense baseline: the faster of its one-step and 512-token-batch prefill.
  auto denseTTFT = [&](int64_t length) -> double {
    for (const TTFT &t : base.ttft)
      if (t.length == length)
        return std::min(t.ms, t.chunkedMs);
    return 0;
  };
  // The policy with its scoring options (lazy-compile --score-window/
  // --score-pool, --reuse-bias), e.g. lazyllm/w32p11/b64.
  auto policyLabel = [](const Result &r) {
    std::string policy = r.policy;
    if (r.scoreWindow > 1 || r.scorePool > 1)
      policy += "/w" + std::to_string(r.scoreWindow) + "p" + std::to_string(r.scorePool);
    if (r.reuseBias != 1)
      policy += "/b" + formatNumber(r.reuseBias);
    return policy;
  };
  int policyWidth = 15;
  for (const Result &r : results)
    policyWidth = std::max(policyWidth, static_cast<int>(policyLabel(r).size()));
  std::printf("\n%-22s %-*s %-4s %5s", "variant", policyWidth, "policy", "kv", "floor");
  if (bench.doTTFT)
    for (int64_t length : bench.lengths)
      std::printf(" %11s", ("TTFT@" + std::to_string(length)).c_str());
  std::printf(" %7s %7s", "share", "sel%");
  if (bench.doNeedle)
    std::printf(" %8s %7s", "needle", "speedup");
  if (bench.doAgree)
    std::printf(" %6s %6s %8s", "first", "cont", "KL");
  if (bench.doGenerate)
    std::printf(" %16s %9s", ("gen@" + std::to_string(bench.generateLength) + "+" +
                              std::to_string(bench.generateTokens)).c_str(),
                "revived");
  if (bench.doFollowUp)
    std::printf(" %7s %6s %7s %9s", "key", "follow", "fu-ms", "fu-rev");
  std::printf("\n");
  for (const Result &r : results) {
    const std::string floor = &r == &base ? "-" : std::to_string(r.minKeep);
    std::printf("%-22s %-*s %-4s %5s", r.name.c_str(), policyWidth, policyLabel(r).c_str(),
                r.kvCache.c_str(), floor.c_str());
    double share = 1, sel = 0;
    if (bench.doTTFT) {
      for (int64_t length : bench.lengths) {
        auto it = std::find_if(r.ttft.begin(), r.ttft.end(),
                               [&](const TTFT &t) { return t.length == length; });
        if (it == r.ttft.end()) {
          std::printf(" %11s", "-");
          continue;
        }
        char cell[32];
        if (&r == &base)
          std::snprintf(cell, sizeof(cell), "%.0fms", it->ms);
        else
          std::snprintf(cell, sizeof(cell), "%.0f(%.2fx)", it->ms, denseTTFT(length) / it->ms);
        std::printf(" %11s", cell);
        share = it->share;
        sel = it->ms > 0 ? 100.0 * it->selectMs / it->ms : 0;
      }
    }
    if (r.haveNeedle)
      share = r.needleShare;
    else if (!bench.doTTFT && r.haveGenerate)
      share = r.gen.share;
    else if (!bench.doTTFT && r.haveFollowUp)
      share = r.followUp.front().share;
    std::printf(" %7.3f %7.2f", share, sel);
    if (r.haveNeedle)
      std::printf(" %8.2f %6.2fx", r.needleAccuracy,
                  r.pairedMs > 0 ? r.pairedDenseMs / r.pairedMs : base.needleTTFT / r.needleTTFT);
    if (bench.doAgree) {
      if (r.haveAgree)
        std::printf(" %6.2f %6.2f %8.4f", r.agree.firstToken, r.agree.continuation,
                    r.agree.meanKL);
      else
        std::printf(" %6s %6s %8s", "1.00", "1.00", "0");
    }
    if (r.haveGenerate) {
      char cell[48];
      std::snprintf(cell, sizeof(cell), "%.0f(%.2fx)", r.gen.totalMs,
                    r.genDense.totalMs / r.gen.totalMs);
      // Token-layers the decode steps computed beyond dense's one per layer.
      const int64_t revived = r.gen.decodeTokenLayers - results.front().gen.decodeTokenLayers;
      std::printf(" %16s %9lld", cell, static_cast<long long>(revived));
    }
    if (r.haveFollowUp) {
      int64_t revived = 0;
      double questionMs = 0;
      for (const FollowUpRun &f : r.followUp) {
        revived += f.revived;
        questionMs += f.questionMs / static_cast<double>(r.followUp.size());
      }
      std::printf(" %7.2f %6.2f %7.1f %9lld", r.followUpKeyAccuracy(), r.followUpAccuracy(),
                  questionMs, static_cast<long long>(revived));
    }
    std::printf("\n");
  }
  std::printf("(kv: the KV cache's storage; floor: the kept sets' floor, lazy-compile --min-keep. "
              "TTFT: one-step prefill in ms, (speedup vs the faster dense prefill); dense in "
              "512-token batches:");
  for (const TTFT &t : base.ttft)
    std::printf(" %.0f", t.chunkedMs);
  std::printf(" ms. share: prompt token-layers computed. sel%%: selection overhead / TTFT at the "
              "largest length. needle: pass-key accuracy at %lld tokens; speedup: TTFT at that length "
              "timed alternately with dense (fastest of each). first/cont/KL: agreement with dense at %lld tokens. "
              "gen: prompt of %lld tokens to the %lld-th generated token, ms (speedup vs dense, timed alternately); "
              "revived: token-layers its decode steps computed beyond dense's one per layer. "
              "key/follow: the two-fact haystack's first answer (pass key) and follow-up answer "
              "(secret word) at the needle length and depths; fu-ms: the follow-up question's "
              "step, mean ms; fu-rev: token-layers the follow-ups (question and answer) computed "
              "beyond dense's, summed over the depths.)\n",
              static_cast<long long>(bench.needleLength),
              static_cast<long long>(bench.agreeLength),
              static_cast<long long>(bench.generateLength),
              static_cast<long long>(bench.generateTokens));
  std::fprintf(stderr, "lazy-bench: done in %.0f s\n", ms(start) / 1000.0);

  if (!jsonPath.empty()) {
    std::ofstream out(jsonPath);
    if (!out)
      die("cannot write '" + jsonPath + "'");
    out << "{\"model\": \"" << jsonEscape(bench.modelPath) << "\", \"needle_length\": "
        << bench.needleLength << ", \"agree_length\": " << bench.agreeLength
        << ", \"agree_prompts\": " << bench.agreePrompts << ", \"continuation\": "
        << bench.continuation << ", \"texts\": [";
    for (size_t i = 0; i < texts.size(); ++i)
      out << (i ? ", " : "") << "\"" << jsonEscape(texts[i]) << "\"";
    out << "], \"results\": [\n";
    for (size_t i = 0; i < results.size(); ++i) {
      const Result &r = results[i];
      out << "  {\"name\": \"" << jsonEscape(r.name) << "\", \"library\": \""
          << jsonEscape(r.library) << "\", \"policy\": \"" << r.policy
          << "\", \"score_window\": " << r.scoreWindow << ", \"score_pool\": " << r.scorePool
          << ", \"reuse_bias\": " << formatNumber(r.reuseBias)
          << ", \"schedule\": \"" << r.schedule << "\", \"min_keep\": " << r.minKeep
          << ", \"kv_cache\": \"" << r.kvCache << "\", \"ttft\": [";
      for (size_t j = 0; j < r.ttft.size(); ++j) {
        const TTFT &t = r.ttft[j];
        out << (j ? ", " : "") << "{\"tokens\": " << t.length << ", \"ms\": " << t.ms
            << ", \"speedup\": " << denseTTFT(t.length) / t.ms << ", \"computed_share\": "
            << t.share << ", \"select_ms\": " << t.selectMs;
        if (&r == &base)
          out << ", \"batched_512_ms\": " << t.chunkedMs;
        out << ", \"kept_tokens_per_layer\": " << jsonArray(t.kept) << "}";
      }
      out << "]";
      if (r.haveNeedle) {
        out << ", \"needle\": {\"accuracy\": " << r.needleAccuracy << ", \"ttft_ms\": "
            << r.needleTTFT << ", \"speedup\": " << base.needleTTFT / r.needleTTFT
            << ", \"paired_ttft_ms\": " << r.pairedMs << ", \"paired_dense_ttft_ms\": "
            << r.pairedDenseMs << ", \"paired_speedup\": "
            << (r.pairedMs > 0 ? r.pairedDenseMs / r.pairedMs : 0.0)
            << ", \"computed_share\": " << r.needleShare
            << ", \"kept_tokens_per_layer\": " << jsonArray(r.needleKept) << ", \"runs\": [";
        for (size_t j = 0; j < r.needle.size(); ++j)
          out << (j ? ", " : "") << "{\"depth\": " << r.needle[j].depth << ", \"key\": \""
              << r.needle[j].key << "\", \"answer\": \"" << jsonEscape(r.needle[j].answer)
              << "\", \"hit\": " << (r.needle[j].hit ? "true" : "false") << "}";
        out << "]}";
      }
      if (r.haveGenerate)
        out << ", \"generate\": {\"prompt_tokens\": " << bench.generateLength
            << ", \"generated_tokens\": " << bench.generateTokens << ", \"ttft_ms\": "
            << r.gen.ttftMs << ", \"decode_ms\": " << r.gen.decodeMs << ", \"total_ms\": "
            << r.gen.totalMs << ", \"decode_token_layers\": " << r.gen.decodeTokenLayers
            << ", \"dense_total_ms\": " << r.genDense.totalMs << ", \"dense_ttft_ms\": "
            << r.genDense.ttftMs << ", \"speedup\": " << r.genDense.totalMs / r.gen.totalMs
            << "}";
      if (r.haveFollowUp) {
        out << ", \"follow_up\": {\"key_accuracy\": " << r.followUpKeyAccuracy()
            << ", \"accuracy\": " << r.followUpAccuracy() << ", \"runs\": [";
        for (size_t j = 0; j < r.followUp.size(); ++j) {
          const FollowUpRun &f = r.followUp[j];
          out << (j ? ", " : "") << "{\"key_depth\": " << f.keyDepth
              << ", \"word_depth\": " << f.wordDepth << ", \"key\": \"" << f.key
              << "\", \"key_answer\": \"" << jsonEscape(f.keyAnswer)
              << "\", \"key_hit\": " << (f.keyHit ? "true" : "false") << ", \"word\": \""
              << f.word << "\", \"word_answer\": \"" << jsonEscape(f.wordAnswer)
              << "\", \"word_hit\": " << (f.wordHit ? "true" : "false")
              << ", \"computed_share\": " << f.share << ", \"question_ms\": " << f.questionMs
              << ", \"question_token_layers\": " << f.questionTokenLayers
              << ", \"token_layers_beyond_dense\": " << f.revived << "}";
        }
        out << "]}";
      }
      if (r.haveAgree)
        out << ", \"agreement\": {\"first_token\": " << r.agree.firstToken
            << ", \"continuation\": " << r.agree.continuation << ", \"mean_kl\": "
            << r.agree.meanKL << "}";
      out << "}" << (i + 1 < results.size() ? "," : "") << "\n";
    }
    out << "]}\n";
    std::fprintf(stderr, "lazy-bench: wrote %s\n", jsonPath.c_str());
  }
  if (!svgDir.empty()) {
    std::vector<Point> needlePoints, agreePoints;
    for (const Result &r : results) {
      double speedup = r.pairedMs > 0   ? r.pairedDenseMs / r.pairedMs
                       : r.haveNeedle ? base.needleTTFT / r.needleTTFT
                                      : 1;
      if (r.haveNeedle)
        needlePoints.push_back({speedup, r.needleAccuracy, r.name, r.policy});
      if (r.haveAgree || &r == &base)
        agreePoints.push_back({speedup, r.haveAgree ? r.agree.continuation : 1.0, r.name,
                               r.policy});
    }
    std::string len = std::to_string(bench.needleLength);
    if (bench.doNeedle) {
      scatter(svgDir + "/speedup_vs_needle.svg", "Pass-key retrieval vs TTFT speedup (" + len +
                                                     " tokens)",
              "TTFT speedup vs dense", "pass-key accuracy", needlePoints, 1.0);
      keptPlot(svgDir + "/kept_tokens_per_layer.svg", results, bench.needleLength);
    }
    if (bench.doAgree && bench.doNeedle)
      scatter(svgDir + "/speedup_vs_agreement.svg",
              "Greedy continuation agreement vs TTFT speedup", "TTFT speedup vs dense (" + len +
                  " tokens)",
              "continuation agreement with dense", agreePoints, 1.0);
    std::fprintf(stderr, "lazy-bench: wrote plots to %s\n", svgDir.c_str());
  }
  return 0;
}

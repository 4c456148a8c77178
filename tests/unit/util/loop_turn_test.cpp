#include "util/loop_turn.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>

namespace sharedisk::util {
namespace {

struct Recorder final : Deferred {
  Recorder(std::string* log, char name) : log(log), name(name) {}
  void run_deferred() override {
    *log += name;
    if (then) {
      EXPECT_TRUE(LoopTurn::defer(then));
      then = nullptr;
    }
  }
  std::string* log;
  char name;
  Deferred* then = nullptr;
};

TEST(LoopTurn, WithoutAnOpenTurnTheCallerPostsItself) {
  std::string log;
  Recorder a(&log, 'a');
  EXPECT_FALSE(LoopTurn::defer(&a));
  { LoopTurn turn; }
  EXPECT_EQ(log, "");
}

TEST(LoopTurn, RunsOnceEachInOrderWhenTheOutermostTurnCloses) {
  std::string log;
  Recorder a(&log, 'a'), b(&log, 'b');
  {
    LoopTurn outer;
    EXPECT_TRUE(LoopTurn::defer(&a));
    {
      LoopTurn inner;
      EXPECT_TRUE(LoopTurn::defer(&b));
      EXPECT_TRUE(LoopTurn::defer(&a));  // already queued: once
    }
    EXPECT_EQ(log, "") << "an inner turn must not run the queue";
  }
  EXPECT_EQ(log, "ab");
  { LoopTurn again; }
  EXPECT_EQ(log, "ab");
}

TEST(LoopTurn, WhatRunsMayDeferMoreIntoTheSameTurn) {
  std::string log;
  Recorder a(&log, 'a'), b(&log, 'b');
  a.then = &b;
  {
    LoopTurn turn;
    LoopTurn::defer(&a);
  }
  EXPECT_EQ(log, "ab");
  // Re-queueing itself after it ran is allowed too.
  a.then = &a;
  {
    LoopTurn turn;
    LoopTurn::defer(&a);
  }
  EXPECT_EQ(log, "abaa");
}

TEST(LoopTurn, DestroyedWhileQueuedIsSkipped) {
  std::string log;
  Recorder a(&log, 'a');
  {
    LoopTurn turn;
    auto gone = std::make_unique<Recorder>(&log, 'x');
    LoopTurn::defer(gone.get());
    LoopTurn::defer(&a);
    gone.reset();
  }
  EXPECT_EQ(log, "a");
}

TEST(LoopTurn, TurnsArePerThread) {
  std::string log;
  Recorder a(&log, 'a');
  LoopTurn turn;
  bool other_thread_had_a_turn = true;
  std::thread([&] { other_thread_had_a_turn = LoopTurn::defer(&a); }).join();
  EXPECT_FALSE(other_thread_had_a_turn);
}

}  // namespace
}  // namespace sharedisk::util

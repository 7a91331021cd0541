// What rp hands to `/bin/sh -c`: a simple command gets `exec` before its command word, so the pid
// rp shows is the app's; anything more, or anything not surely simple, keeps the shell.
#include <catch2/catch.hpp>

#include "supervisor/process/shell_command.hpp"

using rp::with_exec;

namespace {

// The command as written, which means the shell stays.
void keeps_shell(const std::string& command) {
  INFO(command);
  CHECK(with_exec(command) == command);
}

}  // namespace

TEST_CASE("a simple command runs through exec") {
  CHECK(with_exec("python3 app.py") == "exec python3 app.py");
  CHECK(with_exec("bin/rails server -p $PORT") == "exec bin/rails server -p $PORT");
  CHECK(with_exec("npm run dev") == "exec npm run dev");
  CHECK(with_exec("./server") == "exec ./server");
  CHECK(with_exec("~/bin/app --flag=1 *.conf") == "exec ~/bin/app --flag=1 *.conf");
  CHECK(with_exec("\tbundle exec puma") == "\texec bundle exec puma");
}

TEST_CASE("quotes and escapes are words, whatever they hold") {
  CHECK(with_exec("echo 'a; b && c | d & (e)'") == "exec echo 'a; b && c | d & (e)'");
  CHECK(with_exec("echo \"x; y\" \"$HOME's | ok\"") == "exec echo \"x; y\" \"$HOME's | ok\"");
  CHECK(with_exec("echo a\\;b \\& \\|") == "exec echo a\\;b \\& \\|");
  CHECK(with_exec("echo \"say \\\"hi; there\\\"\"") == "exec echo \"say \\\"hi; there\\\"\"");
  CHECK(with_exec("printf 'line one\nline two'") == "exec printf 'line one\nline two'");
  CHECK(with_exec("echo a#b {x,y} }") == "exec echo a#b {x,y} }");
}

TEST_CASE("$ expansions, command substitutions included, are words") {
  CHECK(with_exec("node server.js --port ${PORT:-3000}") ==
        "exec node server.js --port ${PORT:-3000}");
  CHECK(with_exec("echo ${#PATH} ${X##*/} ${Y:-'a}b'} $# $? $$ $@ $1 $") ==
        "exec echo ${#PATH} ${X##*/} ${Y:-'a}b'} $# $? $$ $@ $1 $");
  CHECK(with_exec("$VIRTUAL_ENV/bin/python app.py") == "exec $VIRTUAL_ENV/bin/python app.py");
  CHECK(with_exec("\"$PY\" app.py") == "exec \"$PY\" app.py");
  CHECK(with_exec("$(npm bin)/vite --port $PORT") == "exec $(npm bin)/vite --port $PORT");
  CHECK(with_exec("app --workers $(nproc; echo) --x $((1 + (2 * 3)))") ==
        "exec app --workers $(nproc; echo) --x $((1 + (2 * 3)))");
  CHECK(with_exec("app $(echo ')' \"(\") `cat a | head -1`") ==
        "exec app $(echo ')' \"(\") `cat a | head -1`");
  CHECK(with_exec("app \"$(cd dir && pwd)\" \"`a && b`\"") ==
        "exec app \"$(cd dir && pwd)\" \"`a && b`\"");
  CHECK(with_exec("app ${X:-$(a; b)}") == "exec app ${X:-$(a; b)}");
}

TEST_CASE("exec goes after leading assignments and before the command word") {
  CHECK(with_exec("RAILS_ENV=development bin/rails s") == "RAILS_ENV=development exec bin/rails s");
  CHECK(with_exec("A=1 B='two words' C=\"$HOME\" D= app") ==
        "A=1 B='two words' C=\"$HOME\" D= exec app");
  CHECK(with_exec("_X1=$(pwd) app X=2") == "_X1=$(pwd) exec app X=2");
  // Not a name before the =: that is the command.
  CHECK(with_exec("1A=1 app") == "exec 1A=1 app");
  CHECK(with_exec("=x app") == "exec =x app");
  CHECK(with_exec("\"A\"=1 app") == "exec \"A\"=1 app");
}

TEST_CASE("redirections may come anywhere") {
  CHECK(with_exec("app > log 2>&1") == "exec app > log 2>&1");
  CHECK(with_exec("app >>log 2>/dev/null </dev/null 3<>f 4>|g 5<&0 6>&-") ==
        "exec app >>log 2>/dev/null </dev/null 3<>f 4>|g 5<&0 6>&-");
  CHECK(with_exec("2>&1 app") == "2>&1 exec app");
  CHECK(with_exec(">log A=1 app") == ">log A=1 exec app");
  CHECK(with_exec("A=1 2> err.log app") == "A=1 2> err.log exec app");
  CHECK(with_exec("app>out") == "exec app>out");
  CHECK(with_exec("app 2>\"$LOG\"") == "exec app 2>\"$LOG\"");
  // 12 is an argument, not the redirection's descriptor, when a blank separates them.
  CHECK(with_exec("12 >x") == "exec 12 >x");
}

TEST_CASE("a comment and a trailing newline end the command") {
  CHECK(with_exec("app --x # the app; not && this") == "exec app --x # the app; not && this");
  CHECK(with_exec("app\n") == "exec app\n");
  CHECK(with_exec("app --x\n \n") == "exec app --x\n \n");
}

TEST_CASE("lists, pipes, background jobs and subshells keep the shell") {
  for (const char* c : {"a; b",
                        "a;",
                        "a && b",
                        "a || b",
                        "a | b",
                        "a |& b",
                        "a & wait",
                        "a &",
                        "a &> log",
                        "(a)",
                        "a (b)",
                        "f() { a; }",
                        "a\nb",
                        "A=1; a",
                        "a $(b) ; c",
                        "a `b` && c",
                        "a # note\nb",
                        "a | tee log",
                        "cd web && npm start",
                        "a=(1 2) b"}) {
    keeps_shell(c);
  }
}

TEST_CASE("compound commands and reserved words keep the shell") {
  for (const char* c :
       {"if true; then a; fi", "for x in 1 2; do a; done", "while true; do a; done",
        "until a; do b; done", "case $X in a) b;; esac", "{ a; }", "{ a", "! a", "[[ -f x ]]",
        "time a", "coproc a", "function f { a; }", "select x in a; do b; done", "A=1 if"}) {
    keeps_shell(c);
  }
}

TEST_CASE("a shell builtin as the command keeps the shell") {
  for (const char* c : {"cd dir",
                        "exit 3",
                        ". ./env.sh",
                        "source env.sh",
                        "eval \"$CMD\"",
                        "export A=1",
                        "trap '' TERM",
                        "ulimit -n 4096",
                        "umask 077",
                        "wait",
                        ":",
                        "set -e",
                        "unset X",
                        "read x",
                        "A=1 exit 2",
                        "2>/dev/null cd x",
                        "'cd' x",
                        "\"exit\" 1",
                        "e\\xit 1",
                        "kill -TERM 1"}) {
    keeps_shell(c);
  }
}

TEST_CASE("a command that already execs, or has no command word, is left alone") {
  for (const char* c : {"exec app", "exec\tapp", "A=1 exec app", "2>&1 exec app", "exec", "", "   ",
                        "A=1", "A=1 B=2", ">log", "2>&1", "# only a comment"}) {
    keeps_shell(c);
  }
}

TEST_CASE("what this reading is not sure of keeps the shell") {
  for (const char* c : {
           "cat <<EOF",                  // a here-document needs more lines
           "cat <<-EOF",                 //
           "diff <(a) <(b)",             // bash's process substitution
           "a 'unterminated",            // a syntax error is the shell's to report
           "a \"unterminated",           //
           "a `unterminated",            //
           "a $(unterminated",           //
           "a ${unterminated",           //
           "a \\",                       // a trailing backslash
           "a \\\nb",                    // a line continuation
           "a $(b # c)",                 // a comment inside $( ) could hide its end
           "a >",                        // a redirection without its word
           "a > ; b",                    //
           "a > #x",                     //
           "-a",                         // exec would read it as an option
           "{x}>log app",                // bash's named descriptors
           "a $(case x in y) b;; esac)"  // a case pattern's ) inside $( )
       }) {
    keeps_shell(c);
  }
}

// --- plain_argv: when rp may start the program itself ---------------------------------------

namespace {
const std::vector<std::string> kEnv{"PORT=5000", "HOST=127.0.0.1", "SPACED=a b",
                                    "GLOB=*.rb", "EMPTY=",         "PATH=/usr/bin:/bin"};

std::vector<std::string> words(std::initializer_list<const char*> list) {
  return {list.begin(), list.end()};
}
}  // namespace

TEST_CASE("plain_argv splits a command of plain words") {
  CHECK(rp::plain_argv("python3 -m http.server", kEnv) == words({"python3", "-m", "http.server"}));
  CHECK(rp::plain_argv("  ./bin/app\t--port=8080 -v  ", kEnv) ==
        words({"./bin/app", "--port=8080", "-v"}));
  CHECK(rp::plain_argv("exec node server.js", kEnv) == words({"node", "server.js"}));
  CHECK(rp::plain_argv("bundle exec puma\n", kEnv) == words({"bundle", "exec", "puma"}));
}

TEST_CASE("plain_argv expands $NAME and ${NAME} when the shell would not split them") {
  CHECK(rp::plain_argv("puma -p $PORT -b tcp://${HOST}:$PORT", kEnv) ==
        words({"puma", "-p", "5000", "-b", "tcp://127.0.0.1:5000"}));
  CHECK(rp::plain_argv("$HOST", kEnv) == words({"127.0.0.1"}));
  CHECK_FALSE(rp::plain_argv("echo $SPACED", kEnv));   // split by the shell
  CHECK_FALSE(rp::plain_argv("ls $GLOB", kEnv));       // globbed by the shell
  CHECK_FALSE(rp::plain_argv("echo $EMPTY x", kEnv));  // an empty word vanishes
  CHECK_FALSE(rp::plain_argv("echo $UNSET", kEnv));
  CHECK_FALSE(rp::plain_argv("echo ${PORT:-1}", kEnv));
  CHECK_FALSE(rp::plain_argv("echo $1 $? $$", kEnv));
}

TEST_CASE("plain_argv leaves to the shell what needs one") {
  for (const char* command :
       {"",          "   ",           "a && b",       "a; b",        "a | b",      "a &",
        "(a)",       "a > log",       "a 2>&1",       "echo 'x y'",  "echo \"x\"", "echo a\\ b",
        "echo *.rb", "ls ~/x",        "echo $(date)", "echo `date`", "FOO=1 app",  "cd /tmp",
        "exec",      "exec exec app", "a # comment",  "a\nb",        "kill 1",     "export X=1",
        "if true",   "echo {a,b}",    "echo [ab]",    "echo a?"}) {
    INFO(command);
    CHECK_FALSE(rp::plain_argv(command, kEnv));
  }
}

# Homebrew formula for forja, built from the release tarball.
#
# url and sha256 name one release's tarball: `make brew-formula` (at the top
# of the tree) runs `make dist` and rewrites both lines for the tarball it
# just wrote.  A release: tag the commit that sets the version in
# include/forja/version.h, run `make brew-formula` on that tag, upload
# build/forja-VERSION.tar.gz to the url, commit this file and copy it to the
# tap.  The tarball is reproducible: `make dist` on the tag gives the same
# bytes again (its files are dated by the tagged commit).
class Forja < Formula
  desc "Terminal-first coding agent that runs model tool calls through contracts"
  homepage "https://github.com/forja/forja"
  url "https://github.com/forja/forja/releases/download/v0.1.0/forja-0.1.0.tar.gz"
  sha256 "b09b675d572968ca8f0d6413888c22eb8f26cf5702fefecba06faf37aec9b723"
  license "MIT"

  depends_on "pkg-config" => :build
  depends_on "cjson"
  depends_on "curl"
  depends_on "libgit2"
  depends_on "libuv"
  depends_on "pcre2"
  depends_on "sqlite"

  uses_from_macos "libedit"

  def install
    system "make", "install", "PREFIX=#{prefix}",
                              "MANDIR=#{man}",
                              "BASHCOMPDIR=#{bash_completion}",
                              "ZSHCOMPDIR=#{zsh_completion}",
                              "FISHCOMPDIR=#{fish_completion}"
  end

  test do
    assert_match "forja #{version}", shell_output("#{bin}/forja --version")
    contracts = shell_output("#{bin}/forja contracts list")
    assert_match "read_file", contracts
    assert_match pkgshare.to_s, contracts
  end
end

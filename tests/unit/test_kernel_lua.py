"""The host reads Lua as Lunatik's kernel Lua does (integers only, '/' floors, no '^', no float
literals, no float math), so a script cannot pass here and behave differently in the kernel."""

from pathlib import Path

import pytest

from failover.host import ScriptError
from failover.host.kernelsource import KernelSyntaxError, kernel_source


def test_slash_is_floor_division(lua):
    # stock Lua prints 3.5, -3.5 and 1.5: the kernel compiles '/' as '//'
    assert lua.run("print(7/2, -7/2, 7//2, 3 / 2, (10)/(4))") == ["3", "-4", "3", "1", "2"]


def test_division_by_zero_raises_as_in_the_kernel(lua):
    out = lua.run("local z = 0; print(pcall(function() return 1/z end))")
    # stock Lua gives inf for 1/0; floor division by zero raises
    assert out[0] == "false" and out[1].endswith("attempt to divide by zero")


def test_strings_long_strings_and_comments_are_not_rewritten(lua):
    out = lua.run('''
        -- 7/2 in a comment, 2^3, 1.5
        --[==[ a long comment: 1/2 ]] 2^8 ]==]
        print("7/2", 'a\\'/b', [[x/y]], [=[ ]] / ]=], #"1/2", "\\"/")
    ''')
    assert out == ["7/2", "a'/b", "x/y", " ]] / ", "3", '"/']


def test_required_modules_and_load_are_read_the_same_way(lua):
    lua.script("m", "return {half = function(n) return n / 2 end}")
    out = lua.run("""
        local m = require("m")
        print(m.half(5), load("return 9/2")(), load(function() return nil end) ~= nil)
    """)
    assert out == ["2", "4", "true"]


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("local x = 1.5", "float literal '1.5'"),
        ("local x = .5", "float literal '.5'"),
        ("local x = 1e3", "float literal '1e3'"),
        ("local x = 0x1p4", "float literal '0x1p4'"),
        ("local x = 2^10", "'^' (exponentiation)"),
        ("local x = 9223372036854775808", "integer literal '9223372036854775808' out of range"),
    ],
)
def test_what_the_kernel_cannot_parse_is_refused_with_file_and_line(lua, line, why):
    lua.script("bad", f"local linux = require('linux')\n\n{line}\nreturn x\n")
    with pytest.raises(ScriptError) as e:
        lua.kernel.run("bad")
    assert f"bad.lua:3: {why}" in str(e.value)


def test_a_required_module_the_kernel_cannot_parse_fails_the_require(lua):
    lua.script("floaty", "return 0.5")
    out = lua.run("print((select(2, pcall(require, 'floaty'))))")
    assert "floaty.lua:1: float literal '0.5'" in "\n".join(out)


def test_load_refuses_floats_as_the_kernel_does(lua):
    out = lua.run("print(load('return 2^2', '=chunk'))")
    assert out[0] == "nil" and out[1].startswith("chunk:1: '^'")


def test_math_has_only_the_kernel_functions(lua):
    out = lua.run("""
        local names = {}
        for name in pairs(math) do names[#names + 1] = name end
        table.sort(names)
        print(table.concat(names, " "))
    """)
    assert out == ["abs max maxinteger min mininteger tointeger ult"]


def test_strings_convert_to_integers_only(lua):
    out = lua.run("""
        print(tonumber("10"), tonumber("1.5"), tonumber("ff", 16), "10" / "4", "6" * 2)
        print(pcall(function() return "1.5" + 1 end))
    """)
    assert out[:5] == ["10", "nil", "255", "2", "12"]
    assert out[5] == "false" and "arithmetic on a string value" in out[6]


# -- the tokenizer alone (pure) ------------------------------------------------------------


def rewrite(text: str) -> str:
    return kernel_source(text.encode(), "@s.lua").decode()


def test_tokenizer_rewrites_only_operators():
    assert rewrite("a = b/c -- x/y\nd = e//f") == "a = b//c -- x/y\nd = e//f"
    assert rewrite("t.a/t.b .. '/' .. x...y") == "t.a//t.b .. '/' .. x...y"
    assert rewrite('s = "\\"/" / 2') == 's = "\\"/" // 2'
    assert rewrite("s = [==[ ]] / ]=] ]==] / 2") == "s = [==[ ]] / ]=] ]==] // 2"
    assert rewrite("#!/usr/bin/lua\nx = 1/2") == "#!/usr/bin/lua\nx = 1//2"
    assert rewrite("x = 0xff/0XA + 0xE+1") == "x = 0xff//0XA + 0xE+1"


def test_tokenizer_line_numbers_count_lines_inside_long_strings():
    with pytest.raises(KernelSyntaxError, match=r"^s.lua:4: float literal '2.0'"):
        rewrite("x = [[\n\n]]\ny = 2.0")


def test_tokenizer_refuses_unfinished_strings():
    with pytest.raises(KernelSyntaxError, match="unfinished long string"):
        rewrite("x = [[ never closed")
    with pytest.raises(KernelSyntaxError, match="s.lua:2: unfinished string"):
        rewrite("x = 1\ny = 'open\n")


def test_every_lua_file_in_the_repository_reads_the_kernels_way():
    """Our scripts, the host's Lua halves and Lunatik's own Lua (tests/lunatik/upstream): the
    tokenizer accepts them all and stock Lua compiles what it makes of them."""
    import lupa.lua55 as lua55

    repo = Path(__file__).resolve().parents[2]
    compiles = lua55.LuaRuntime(encoding=None).eval("function(s, n) return (load(s, n, 't')) ~= nil end")
    files = [p for d in ("kernel", "failover/host/lua", "tests/lunatik/upstream") for p in (repo / d).rglob("*.lua")]
    assert len(files) > 100
    for path in files:
        text = kernel_source(path.read_bytes(), f"@{path}")
        assert compiles(text, f"@{path}".encode()), path

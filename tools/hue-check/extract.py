"""What hue-check needs from one translation unit, read with libclang (python3-clang-14).

For every function defined in the project's own files: its calls (direct, virtual, through a
pointer, into a library) and the project functions whose address it hands to a library call
(Lua's C functions). Besides: the handler tables (arrays of HandlerEntry / SessionHandlerEntry),
the command tables (arrays of CommandSpec) and the declaration of each hue class (the
`add(HueClass::kX, Touches()...)` calls that build the server's matrix).

A worker process parses its share of the translation units and returns plain data; lambdas'
bodies count as their enclosing function's (the lambda may run whenever that function does).
"""
import os
import shlex

import clang.cindex as ci

LIBCLANG = "/usr/lib/llvm-14/lib/libclang.so.1"
RESOURCE_DIR = "/usr/lib/llvm-14/lib/clang/14.0.6"

K = ci.CursorKind
# libclang 14 reports a few cursor kinds its Python bindings do not list (e.g. 280, OpenMP
# directives): give them placeholders so that walking any tree never raises.
for _id in range(1000):
    if _id >= len(K._kinds) or K._kinds[_id] is None:
        K(_id)
FUNCS = {K.FUNCTION_DECL, K.CXX_METHOD, K.CONSTRUCTOR, K.DESTRUCTOR, K.FUNCTION_TEMPLATE,
         K.CONVERSION_FUNCTION}
# g++ options clang does not know; they only tune warnings or code generation.
DROP = {"-Wno-restrict", "-Werror", "-fno-semantic-interposition"}


def qualified(c):
    parts = []
    while c is not None and c.kind != K.TRANSLATION_UNIT:
        if c.spelling:
            parts.append(c.spelling)
        c = c.semantic_parent
    return "::".join(reversed(parts))


def compile_args(entry):
    if "arguments" in entry:
        args = list(entry["arguments"])[1:]
    else:
        args = shlex.split(entry["command"])[1:]
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a == "-c" or a in DROP or a == entry["file"] or a.startswith("-O") or a == "-g":
            continue
        out.append(a)
    return out + ["-resource-dir", RESOURCE_DIR, "-Wno-unknown-warning-option"]


def sans_includes(args):
    """The flags without the include directories (-I, -isystem): what must match for a unit to
    use a precompiled header made with other include directories."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in ("-I", "-isystem"):
            skip = True
        elif not a.startswith(("-I", "-isystem")):
            out.append(a)
    return out


def moved(inputs):
    """Whether a file a precompiled header was made from has another time now."""
    for path, mtime in inputs:
        try:
            if os.stat(path).st_mtime_ns != mtime:
                return True
        except OSError:
            return True
    return False


def precompile(prelude, args, roots, pch):
    """Compiles the units' shared #include lines into `pch` and reads the project functions and
    tables of those headers (each unit that uses the precompiled header reads only its own)."""
    ci.Config.loaded or ci.Config.set_library_file(LIBCLANG)
    # Names of this process's own: two checks at once (ctest -j) must never write one file.
    source = f"{pch}.{os.getpid()}.hpp"
    with open(source, "w") as f:
        f.write(prelude)
    ex = Extractor(roots)
    tu = ex.index.parse(source, args=["-x", "c++-header"] + args)
    out = ex.facts(tu, source)
    if not out["errors"]:
        tu.save(f"{pch}.{os.getpid()}.tmp")
        os.replace(f"{pch}.{os.getpid()}.tmp", pch)
        out["inputs"] = sorted({(i.include.name, os.stat(i.include.name).st_mtime_ns)
                                for i in tu.get_includes()})
    return out


def holds_template_callable(field):
    """Whether `field` is typed by a template type parameter of a template it sits in (`Fn& f` in
    the local adapter of `template <typename Fn> scan(..., Fn&& fn)`): it holds the callable that
    template was given, a lambda whose body is its caller's already, as for a parameter. A
    pointer (Fn* f) may point elsewhere: not taken."""
    if "*" in field.type.spelling:
        return False
    name = field.type.spelling.replace("const ", "").replace("&", "").strip()
    p = field.semantic_parent
    while p is not None and p.kind != K.TRANSLATION_UNIT:
        if p.kind in (K.FUNCTION_TEMPLATE, K.CLASS_TEMPLATE):
            if any(k.kind == K.TEMPLATE_TYPE_PARAMETER and k.spelling == name
                   for k in p.get_children()):
                return True
        p = p.semantic_parent
    return False


def returns_function(f):
    """Whether f returns a pointer or reference to a function."""
    t = f.result_type.get_canonical()
    if t.kind in (ci.TypeKind.POINTER, ci.TypeKind.LVALUEREFERENCE):
        t = t.get_pointee().get_canonical()
    return t.kind in (ci.TypeKind.FUNCTIONPROTO, ci.TypeKind.FUNCTIONNOPROTO)


class Extractor:
    def __init__(self, roots):
        self.roots = tuple(os.path.realpath(r) + os.sep for r in roots)
        self.seen = set()  # USRs of function definitions already walked (headers repeat)
        self.index = ci.Index.create()
        self.files = {}  # file name -> whether it is the project's (realpath is slow)

    def ours(self, cursor):
        f = cursor.location.file
        if f is None:
            return False
        name = f.name
        mine = self.files.get(name)
        if mine is None:
            mine = self.files[name] = os.path.realpath(name).startswith(self.roots)
        return mine

    def parse(self, path, args, pch=None):
        try:
            tu = self.index.parse(path, args=args + (["-include-pch", pch] if pch else []))
        except ci.TranslationUnitLoadError:
            if not pch:
                raise
            tu = None  # the precompiled header was replaced under us: parse as below
        if pch and (tu is None or any(d.severity >= ci.Diagnostic.Error for d in tu.diagnostics)):
            # The shared headers make visible what this unit does not include (two `kVersion`s
            # under using-directives): it is parsed on its own, with only its own headers.
            tu = self.index.parse(path, args=args)
            pch = None
        out = self.facts(tu, path)
        out["alone"] = not pch
        return out

    def facts(self, tu, path):
        errors = [f"{d.location.file}:{d.location.line}: {d.spelling}" for d in tu.diagnostics
                  if d.severity >= ci.Diagnostic.Error]
        out = {"file": path, "errors": errors, "functions": {}, "handlers": [], "commands": [],
               "classes": [], "addressed": []}
        self.walk_decls(tu.cursor, out)
        return out

    def walk_decls(self, cursor, out):
        for c in cursor.get_children():
            if not self.ours(c):
                continue
            if c.kind in (K.NAMESPACE, K.CLASS_DECL, K.STRUCT_DECL, K.CLASS_TEMPLATE, K.LINKAGE_SPEC):
                self.walk_decls(c, out)
            elif c.kind in FUNCS and c.is_definition():
                usr = c.get_usr()
                if usr in self.seen:
                    continue
                self.seen.add(usr)
                out["functions"][usr] = self.function(c, out)
            elif c.kind == K.VAR_DECL:
                self.table(c, out)

    def function(self, f, out):
        params = [p for p in f.get_children() if p.kind == K.PARM_DECL]
        fn = {"name": qualified(f), "loc": f"{f.location.file.name}:{f.location.line}",
              "calls": [], "defaults": [self.bool_default(p) for p in params],
              # Whether a dependent call that resolves to it by name is a const call.
              "const": f.kind == K.CXX_METHOD and f.is_const_method()}
        if f.spelling == "build_matrix":
            self.classes(f, out)
        self.params = {p.spelling: i for i, p in enumerate(params) if p.spelling}
        self.out = out  # a table may be a function's local static (the streams' handlers)
        self.refs = {}
        self.body(f, fn, ())
        # Functions named here more often than called: their address is taken (a Lua C function
        # pushed or put in a luaL_Reg table), so a library may call them back.
        called = {}
        for c in fn["calls"]:
            if c.get("usr"):
                called[c["usr"]] = called.get(c["usr"], 0) + 1
        fn["addressed"] = sorted(u for u, n in self.refs.items() if n > called.get(u, 0))
        return fn

    # Guards: a call's enclosing conditions over the function's bool parameters, so that a
    # shared body (zrange_generic(c, ..., store = false)) is followed per handler with the
    # constants the handler passes. Expressions: ("p", i) parameter i, ("c", bool or an enum
    # constant's value), ("eq", a, b), ("not", e),
    # ("and", a, b), ("or", a, b), ("u",) unknown.
    def bool_default(self, p):
        for ch in p.walk_preorder():
            if ch.kind == K.CXX_BOOL_LITERAL_EXPR:
                return [t.spelling for t in ch.get_tokens()][:1] == ["true"]
        return None

    def strip(self, e):
        while e.kind in (K.UNEXPOSED_EXPR, K.PAREN_EXPR):
            kids = list(e.get_children())
            if len(kids) != 1:
                break
            e = kids[0]
        return e

    def expr(self, e):
        e = self.strip(e)
        if e.kind == K.CXX_BOOL_LITERAL_EXPR:
            return ("c", [t.spelling for t in e.get_tokens()][:1] == ["true"])
        if e.kind == K.DECL_REF_EXPR and e.referenced is not None \
                and e.referenced.kind == K.PARM_DECL and e.spelling in self.params:
            return ("p", self.params[e.spelling])
        if e.kind == K.DECL_REF_EXPR and e.referenced is not None \
                and e.referenced.kind == K.ENUM_CONSTANT_DECL:
            return ("c", e.referenced.enum_value)
        kids = list(e.get_children())
        if e.kind == K.UNARY_OPERATOR and len(kids) == 1:
            toks = [t.spelling for t in e.get_tokens()]
            if toks[:1] == ["!"]:
                return ("not", self.expr(kids[0]))
        if e.kind == K.BINARY_OPERATOR and len(kids) == 2:
            toks = [t.spelling for t in e.get_tokens()]
            n = len(list(kids[0].get_tokens()))
            op = toks[n] if n < len(toks) else ""
            if op in ("&&", "||"):
                return ("and" if op == "&&" else "or", self.expr(kids[0]), self.expr(kids[1]))
            if op in ("==", "!="):  # an enum parameter against a constant (Output::kStore)
                eq = ("eq", self.expr(kids[0]), self.expr(kids[1]))
                return eq if op == "==" else ("not", eq)
        return ("u",)

    def returns(self, st):
        st = self.strip(st)
        if st.kind == K.RETURN_STMT:
            return True
        if st.kind == K.COMPOUND_STMT:
            kids = list(st.get_children())
            return bool(kids) and kids[-1].kind == K.RETURN_STMT
        return False

    def body(self, node, fn, guards):
        kids = list(node.get_children())
        if node.kind == K.IF_STMT and len(kids) in (2, 3) and kids[0].kind != K.DECL_STMT:
            cond = self.expr(kids[0])
            self.body(kids[0], fn, guards)
            self.body(kids[1], fn, guards + ((cond, True),))
            if len(kids) == 3:
                self.body(kids[2], fn, guards + ((cond, False),))
            return
        if node.kind == K.COMPOUND_STMT:
            g = guards
            for st in kids:
                self.body(st, fn, g)
                sub = list(st.get_children())
                if st.kind == K.IF_STMT and len(sub) == 2 and sub[0].kind != K.DECL_STMT \
                        and self.returns(sub[1]):
                    g = g + ((self.expr(sub[0]), False),)  # after `if (x) return ...;`
            return
        if node.kind == K.VAR_DECL and self.table(node, self.out):
            return  # a table names handlers for the dispatcher: no call, no address taken here
        if node.kind in (K.VAR_DECL, K.CXX_DELETE_EXPR):
            self.destructor(node, fn, guards)
        if node.kind == K.CALL_EXPR:
            self.call(node, fn, guards)
        elif node.kind in (K.BINARY_OPERATOR, K.UNARY_OPERATOR, K.COMPOUND_ASSIGNMENT_OPERATOR) \
                and node.type.kind == ci.TypeKind.DEPENDENT:
            self.operator(node, fn, guards)
        elif node.kind == K.CXX_FOR_RANGE_STMT:
            # The loop's begin(), end() and its iterator's operators are calls libclang does not
            # show, resolved or not: followed by name, as a template's dependent calls are.
            for name in ("begin", "end", "operator*", "operator++", "operator!=", "operator=="):
                fn["calls"].append({"kind": "dependent", "name": name, "line": node.location.line,
                                    "guards": guards, "member": True, "std": False,
                                    "operator": name.startswith("operator"),
                                    "text": f"the range for's {name}"})
        elif node.kind == K.DECL_REF_EXPR and node.referenced is not None \
                and node.referenced.kind in FUNCS:
            u = node.referenced.get_usr()
            self.refs[u] = self.refs.get(u, 0) + 1
        for c in kids:
            self.body(c, fn, guards)

    def destructor(self, node, fn, guards):
        """A local object's destructor runs where its scope ends, and `delete p` runs p's: calls
        libclang does not show. Recorded as a call where the object is declared (or deleted)."""
        if node.kind == K.VAR_DECL:
            t = node.type.get_canonical()
            if t.kind in (ci.TypeKind.LVALUEREFERENCE, ci.TypeKind.RVALUEREFERENCE,
                          ci.TypeKind.POINTER) or node.storage_class == ci.StorageClass.STATIC:
                return  # a reference or pointer destroys nothing; a static, at exit
        else:
            kids = list(node.get_children())
            if not kids:
                return
            t = kids[-1].type.get_canonical()
            if t.kind != ci.TypeKind.POINTER:
                return
            t = t.get_pointee().get_canonical()
        while t.kind in (ci.TypeKind.CONSTANTARRAY, ci.TypeKind.INCOMPLETEARRAY):
            t = t.element_type.get_canonical()
        d = t.get_declaration()
        if d is None or d.kind not in (K.CLASS_DECL, K.STRUCT_DECL) or not self.ours(d):
            return
        for m in d.get_children():
            if m.kind == K.DESTRUCTOR:
                dd = m.get_definition() or m
                fn["calls"].append({"kind": "direct", "usr": dd.get_usr(), "name": qualified(dd),
                                    "line": node.location.line, "const": False,
                                    "guards": guards, "args": [], "special": True})

    def arg_value(self, a):
        if not list(a.get_tokens()):
            return ("d",)  # an argument left out: the parameter's default
        v = self.expr(a)
        return v if v[0] in ("p", "c") else None

    def call(self, c, fn, guards):
        r = c.referenced
        line = c.location.line
        if r is None:
            self.dependent(c, fn, guards)
            return
        if r.kind in (K.FIELD_DECL, K.VAR_DECL, K.PARM_DECL):
            t = r.type.spelling
            fn["calls"].append({"kind": "indirect", "name": qualified(r), "line": line,
                                "guards": guards,
                                # A template's callable parameter (Fn&& fn): what the caller
                                # passes is a lambda, whose body is the caller's already.
                                "callable": (r.kind == K.PARM_DECL and "(" not in t
                                             and "function<" not in t)
                                or (r.kind == K.FIELD_DECL and holds_template_callable(r))})
            return
        if r.kind not in FUNCS:
            return  # a constructor of a type without one, a builtin
        if r.kind == K.CXX_METHOD and r.spelling == "operator()" and not r.semantic_parent.spelling:
            return  # a lambda: its body is already the enclosing function's
        kids = list(c.get_children())
        if kids and self.strip(kids[0]).kind == K.CALL_EXPR and returns_function(r):
            # pick()(c): libclang names the inner call's function as the callee, but what runs
            # is the pointer it returns. Nothing names that: the worst case.
            fn["calls"].append({"kind": "indirect", "line": line, "guards": guards,
                                "name": "".join(t.spelling for t in kids[0].get_tokens()),
                                "callable": False})
            return
        library = not self.ours(r)
        call = {"kind": "library" if library else "direct", "usr": r.get_usr(),
                "name": qualified(r), "line": line,
                "const": r.kind == K.CXX_METHOD and r.is_const_method(), "guards": guards,
                "args": [self.arg_value(a) for a in c.get_arguments()]}
        # Special members without a body anywhere are the compiler's (memberwise): nothing to follow.
        call["special"] = r.kind in (K.CONSTRUCTOR, K.DESTRUCTOR) or r.spelling == "operator="
        if not library and r.kind == K.CXX_METHOD and r.is_virtual_method():
            # Virtual unless the object is named with a qualified call (Base::f()).
            call["kind"] = "virtual"
        fn["calls"].append(call)

    # A template's dependent call (z.last_in(r), members.size(), T::make(x), f(t) found by
    # argument-dependent lookup) is resolved only per instantiation, and libclang gives it no
    # callee and no name. Its name is read from the callee expression's tokens, so that it can be
    # followed by name (hue_check.py's `dependent` rule); a callee that has no name (a pointer to
    # member, a pointer another call returns) is the worst case.
    KEYWORDS = {"template", "typename", "this", "operator"}

    def callee_name(self, callee):
        """The last name of a callee expression (`last_in` in `z.last_in`, `foo` in
        `t.template foo<int>`, `make` in `T::make`), and whether `std::` qualifies it."""
        toks = [t.spelling for t in callee.get_tokens()]
        name, depth, qualifier = None, 0, []
        for i, t in enumerate(toks):
            if t in ("<", "(", "[") and not (t == "<" and name is None):
                depth += 1
            elif t in (">", ")", "]") and depth:
                depth -= 1
            elif t == ">>" and depth:
                depth = max(0, depth - 2)
            elif depth == 0 and (t[0].isalpha() or t[0] == "_") and t not in self.KEYWORDS:
                name = t
                qualifier = toks[:i]
        return name, qualifier[:2] == ["std", "::"] or qualifier[:3] == ["::", "std", "::"]

    def callable_param(self, e):
        """Whether `e` names a function's callable parameter (Fn&& fn), possibly through
        std::forward<Fn>(fn) or std::move(fn): what its caller passes is a lambda."""
        e = self.strip(e)
        if e.kind == K.CALL_EXPR:
            kids = list(e.get_children())
            name, std = self.callee_name(self.strip(kids[0])) if kids else (None, False)
            if std and name in ("forward", "move") and len(kids) == 2:
                return self.callable_param(kids[1])
            return False
        r = e.referenced if e.kind == K.DECL_REF_EXPR else None
        if r is None or r.kind != K.PARM_DECL:
            return False
        t = r.type.spelling
        return "(" not in t and "function<" not in t

    def dependent(self, c, fn, guards):
        line = c.location.line
        kids = list(c.get_children())
        callee = self.strip(kids[0]) if kids else None
        text = "".join(t.spelling for t in c.get_tokens())
        if callee is None:
            fn["calls"].append({"kind": "indirect", "name": text, "line": line,
                                "guards": guards, "callable": False})
            return
        if self.callable_param(callee):
            fn["calls"].append({"kind": "indirect", "name": text, "line": line,
                                "guards": guards, "callable": True})
            return
        if callee.kind not in (K.MEMBER_REF_EXPR, K.DECL_REF_EXPR, K.TYPE_REF):
            # (t.*pm)(), pick<T>()(x), a subscript's element called: no name to follow by.
            fn["calls"].append({"kind": "indirect", "name": text, "line": line,
                                "guards": guards, "callable": False})
            return
        name, std = self.callee_name(callee)
        if name is None:
            fn["calls"].append({"kind": "indirect", "name": text, "line": line,
                                "guards": guards, "callable": False})
            return
        call = {"kind": "dependent", "name": name, "line": line, "guards": guards,
                "member": callee.kind == K.MEMBER_REF_EXPR, "std": std, "text": text}
        if callee.kind == K.MEMBER_REF_EXPR:
            # The object's class, when only the arguments are dependent (map_.count(kv.first))
            # or the class is a template whose members are known (this->h() in S<T>).
            cls = self.object_class(callee)
            if cls is not None:
                call["class"], call["ours"] = qualified(cls), self.ours(cls)
        fn["calls"].append(call)

    def object_class(self, member):
        kids = list(member.get_children())
        if not kids:
            return None  # an implicit this->: the class is the enclosing one, not named here
        t = kids[0].type.get_canonical()
        while t.kind in (ci.TypeKind.POINTER, ci.TypeKind.LVALUEREFERENCE,
                         ci.TypeKind.RVALUEREFERENCE):
            t = t.get_pointee().get_canonical()
        d = t.get_declaration()
        if d is None or d.kind not in (K.CLASS_DECL, K.STRUCT_DECL, K.CLASS_TEMPLATE,
                                       K.CLASS_TEMPLATE_PARTIAL_SPECIALIZATION, K.UNION_DECL):
            return None  # a template parameter's type: any class
        return d

    # An operator on an operand of a dependent type (a < b, *it, ++it) is an overloaded
    # operator's call once instantiated, or the built-in one.
    RELATED = {"<": ("<=>",), ">": ("<=>",), "<=": ("<=>",), ">=": ("<=>",), "!=": ("==",)}

    def operator(self, node, fn, guards):
        kids = list(node.get_children())
        toks = [t.spelling for t in node.get_tokens()]
        if node.kind == K.UNARY_OPERATOR:
            op = toks[0] if toks and not toks[0][0].isalnum() else (toks[-1] if toks else "")
        else:
            n = len(list(kids[0].get_tokens())) if kids else 0
            op = toks[n] if n < len(toks) else ""
        if not op:
            return
        for o in (op,) + self.RELATED.get(op, ()):
            fn["calls"].append({"kind": "dependent", "name": "operator" + o,
                                "line": node.location.line, "guards": guards, "member": False,
                                "std": False, "operator": True,
                                "text": "".join(toks)})

    def pointer_name(self, c):
        for n in c.walk_preorder():
            if n.kind in (K.MEMBER_REF_EXPR, K.DECL_REF_EXPR) and n.referenced is not None:
                return qualified(n.referenced)
        return None

    def table(self, var, out):
        """Reads a handler or command table; whether `var` is one."""
        t = var.type.spelling
        if "HandlerEntry" in t and "[" in t:
            for el in self.elements(var):
                name = self.literal(el)
                ref = [n.referenced for n in el.walk_preorder()
                       if n.kind == K.DECL_REF_EXPR and n.referenced is not None
                       and n.referenced.kind in FUNCS]
                if name and ref:
                    out["handlers"].append({"name": name, "usr": ref[0].get_usr(),
                                            "function": qualified(ref[0]),
                                            "table": qualified(var),
                                            "loc": f"{el.location.file.name}:{el.location.line}"})
        elif "CommandSpec" in t and "[" in t:
            for el in self.elements(var):
                name = self.literal(el)
                hue = [n.spelling for n in el.walk_preorder()
                       if n.kind == K.DECL_REF_EXPR and n.referenced is not None
                       and n.referenced.kind == K.ENUM_CONSTANT_DECL
                       and n.referenced.semantic_parent.spelling == "HueClass"]
                if name and hue:
                    out["commands"].append({"name": name, "hue": hue[0],
                                            "loc": f"{el.location.file.name}:{el.location.line}"})
        else:
            return False
        return True

    def elements(self, var):
        for c in var.get_children():
            if c.kind == K.INIT_LIST_EXPR:
                return [e for e in c.get_children() if e.kind == K.INIT_LIST_EXPR]
        return []

    def literal(self, el):
        for n in el.walk_preorder():
            if n.kind == K.STRING_LITERAL:
                return n.spelling.strip('"')
        return None

    def classes(self, f, out):
        # add(HueClass::kX, Touches().reads("g").writes_context()...) and
        # class_hues[HueClass::kUndeclared] = add_undeclared(...)
        for c in f.walk_preorder():
            if c.kind != K.CALL_EXPR:
                continue
            args = list(c.get_arguments())
            if c.spelling == "operator()" and len(args) >= 2:
                args = args[-2:]  # a lambda's call counts the lambda as its first argument
                cls = [n.spelling for n in args[0].walk_preorder() if n.kind == K.DECL_REF_EXPR
                       and n.referenced is not None and n.referenced.kind == K.ENUM_CONSTANT_DECL]
                if not cls:
                    continue
                decl = {"class": cls[0], "reads": [], "writes": [], "context": "none",
                        "loc": f"{c.location.file.name}:{c.location.line}"}
                for n in args[1].walk_preorder():
                    if n.kind != K.CALL_EXPR:
                        continue
                    if n.spelling in ("reads", "writes"):
                        lit = [m.spelling.strip('"') for m in n.walk_preorder()
                               if m.kind == K.STRING_LITERAL]
                        decl[n.spelling].append(lit[-1])
                    elif n.spelling == "writes_context":
                        decl["context"] = "write"
                    elif n.spelling == "reads_context" and decl["context"] != "write":
                        decl["context"] = "read"
                out["classes"].append(decl)


_extractor = None


def work(job):
    """One translation unit, in a worker process (the extractor is the process's)."""
    global _extractor
    path, args, roots, pch = job
    if _extractor is None:
        ci.Config.loaded or ci.Config.set_library_file(LIBCLANG)
        _extractor = Extractor(roots)
    return _extractor.parse(path, args, pch)

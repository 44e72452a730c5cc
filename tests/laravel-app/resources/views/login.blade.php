<!doctype html>
<html lang="en">
<head>
    <meta charset="utf-8">
    <title>Log in</title>
</head>
<body>
    <form method="post" action="/login">
        @csrf
        <label>User <input name="name" autocomplete="username"></label>
        <button type="submit">Log in</button>
        @error('name') <p class="error">{{ $message }}</p> @enderror
    </form>
</body>
</html>
